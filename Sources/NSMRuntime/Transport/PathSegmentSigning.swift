import NSMAPI
import SPIFFE
import SwiftProtobuf

extension Connection_Connection {
    /// This hop's path segment (`path.index`) with a token for `audience` (the next hop's SPIFFE
    /// ID), signed with `material`'s SVID and expiring with the segment or the SVID, whichever is
    /// first. A path without a segment at its index is left as it is (the next hop refuses it).
    func signingOwnSegment(with material: X509Material, for audience: String) throws -> Connection_Connection {
        let index = Int(path.index)
        guard index < path.pathSegments.count else { return self }
        var connection = self
        var expires = material.svid.notAfter
        if path.pathSegments[index].hasExpires { expires = min(expires, path.pathSegments[index].expires.date) }
        let token = PathToken(subject: material.svid.id.description, audience: [audience], expires: expires)
        connection.path.pathSegments[index].token = try token.signed(with: material.svid)
        connection.path.pathSegments[index].expires = Google_Protobuf_Timestamp(date: expires)
        return connection
    }
}
