import Foundation
public import NSMAPI
public import NSMCore
public import SPIFFE
import Crypto
import SwiftASN1
import Synchronization
import X509

/// Upstream's token policies, on Request and Close alike. "Previous token signed": with mutual TLS,
/// the caller's path segment must carry a token signed by the key of the certificate the caller
/// presented (`sub` its SPIFFE ID), meant for this hop (`aud` holds this hop's SPIFFE ID) and not
/// expired. "Tokens valid, not expired, chained": every segment before the caller's carries a
/// token that reads as one, has not lapsed, and whose `aud` names the `sub` of the segment after
/// it — so nobody splices a path together from other callers' segments. Each refusal is
/// `PERMISSION_DENIED` saying which rule and which segment. Calls without TLS (in process, or a
/// plaintext mesh) carry no token and pass.
public struct PathTokenElement: NetworkServiceElement {
    let identity: any X509Source
    /// Callers' keys by their certificate (DER): a connection's calls share one certificate, so
    /// it is parsed once, not per call. Bounded: cleared when it holds 1,024.
    private let keys = KeyCache()

    final class KeyCache: Sendable {
        let keys = Mutex<[[UInt8]: P256.Signing.PublicKey]>([:])

        func key(for der: [UInt8]) throws -> P256.Signing.PublicKey {
            if let known = keys.withLock({ $0[der] }) { return known }
            guard let key = P256.Signing.PublicKey(try Certificate(derEncoded: der).publicKey) else {
                throw SPIFFEError("the caller's certificate has no P-256 key (ES256 tokens need one)")
            }
            keys.withLock { keys in
                if keys.count >= 1024 { keys.removeAll() }
                keys[der] = key
            }
            return key
        }
    }

    public init(identity: any X509Source) { self.identity = identity }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        try check(request.connection, caller: context.caller)
        return try await next.request(request, context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        try check(connection, caller: context.caller)
        try await next.close(connection, context: context)
    }

    func check(_ connection: Connection_Connection, caller: Caller) throws {
        try check(connection.path, caller: caller)
    }

    /// The rules on a path: the caller's segment (`path.index`) signed by the caller for this
    /// hop, and the chain before it. Registry calls' paths are checked with it too.
    public func check(_ path: Connection_Path, caller: Caller) throws {
        guard let peer = caller.spiffeID, let der = caller.certificate else { return }
        let index = Int(path.index)
        guard index < path.pathSegments.count else {
            throw NSMError.invalidArgument("connection.path has no segment for the caller (index \(index) of \(path.pathSegments.count) segments)")
        }
        let token = path.pathSegments[index].token
        guard !token.isEmpty else { throw NSMError.permissionDenied("the caller's path segment \(index) carries no token (\(peer) must sign one for this hop)") }
        let claims: PathToken
        do {
            claims = try PathToken.verify(token, signer: try keys.key(for: der))
        } catch {
            throw NSMError.permissionDenied("the token of path segment \(index) is refused: \(error)")
        }
        guard claims.subject == peer else {
            throw NSMError.permissionDenied("the token of path segment \(index) is \(claims.subject.prefix(120))'s, but the caller is \(peer)")
        }
        let own = try identity.current().svid.id.description
        guard claims.audience.contains(own) else {
            throw NSMError.permissionDenied("the token of path segment \(index) is meant for \(claims.audience.joined(separator: ", ").prefix(200)), not for this hop (\(own))")
        }
        try checkChain(path, upTo: index, caller: claims)
    }

    /// The segments before the caller's: each token reads, has not lapsed, and is meant for the
    /// hop that signed the next segment's.
    func checkChain(_ path: Connection_Path, upTo index: Int, caller: PathToken, now: Date = Date()) throws {
        var next = caller
        for earlier in stride(from: index - 1, through: 0, by: -1) {
            let token: PathToken
            do {
                token = try PathToken.read(path.pathSegments[earlier].token)
            } catch {
                throw NSMError.permissionDenied("the token of path segment \(earlier) is refused: \(error)")
            }
            guard token.expires > now else {
                throw NSMError.permissionDenied("the token of path segment \(earlier) expired at \(token.expires)")
            }
            guard token.audience.contains(next.subject) else {
                throw NSMError.permissionDenied(
                    "the path's tokens are not chained: segment \(earlier)'s is meant for \(token.audience.joined(separator: ", ").prefix(200)), but segment \(earlier + 1)'s is signed by \(next.subject.prefix(120))")
            }
            next = token
        }
    }
}
