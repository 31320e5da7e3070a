import Foundation
import NSMAPI
import NSMCore
import SPIFFE
import SwiftProtobuf

/// Upstream's registry path: registry calls carry it as metadata `path`, JSON
/// `{"Index":n,"PathSegments":[{"token":"…"},…]}` (Go's field names), one segment per hop so far,
/// each with that hop's token for the next; a server answers with the path it extended as the
/// response header `path`. The SPIFFE IDs the tokens name, in order, are an entry's `path_ids`
/// (registrant, manager, registry).
struct RegistryPath: Codable, Equatable, Sendable {
    struct Segment: Codable, Equatable, Sendable {
        var token: String
    }

    static let metadataKey = "path"

    var index: Int
    var segments: [Segment]

    enum CodingKeys: String, CodingKey {
        case index = "Index"
        case segments = "PathSegments"
    }

    init(index: Int, segments: [Segment]) {
        self.index = index
        self.segments = segments
    }

    /// The path of the registry call being served, as this hop extended it: a proxying hop's call
    /// to the next registry continues it.
    @TaskLocal static var served: RegistryPath?

    /// The path a caller sent; bad JSON, an index outside its segments, more than
    /// ``MessageBounds/pathSegments`` segments or a token over ``MessageBounds/tokenBytes`` is
    /// `INVALID_ARGUMENT` naming what was wrong.
    init(metadata text: String) throws {
        let accepted = #"(accepted: {"Index":<n>,"PathSegments":[{"token":"<jwt>"},…]})"#
        do {
            self = try JSONDecoder().decode(RegistryPath.self, from: Data(text.utf8))
        } catch {
            throw NSMError.invalidArgument("metadata \(Self.metadataKey) is not a registry path \(accepted)")
        }
        guard segments.count <= MessageBounds.pathSegments else {
            throw NSMError.invalidArgument("metadata \(Self.metadataKey) has \(segments.count) segments; at most \(MessageBounds.pathSegments) are accepted")
        }
        guard (0..<segments.count).contains(index) else {
            throw NSMError.invalidArgument("metadata \(Self.metadataKey) has Index \(index) but \(segments.count) segments \(accepted)")
        }
        if let long = segments.firstIndex(where: { $0.token.utf8.count > MessageBounds.tokenBytes }) {
            throw NSMError.invalidArgument("metadata \(Self.metadataKey): the token of segment \(long) is over \(MessageBounds.tokenBytes) bytes")
        }
    }

    var encoded: String {
        // Encoding these two plain fields cannot fail.
        (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "{}"
    }

    /// The path as a connection path (tokens only), for the path token checks.
    var connectionPath: Connection_Path {
        var path = Connection_Path()
        path.index = UInt32(index)
        path.pathSegments = segments.map { segment in Connection_PathSegment.with { $0.token = segment.token } }
        return path
    }

    /// The path up to this hop's caller, with this hop's segment after it.
    func continued(with token: String) -> RegistryPath {
        RegistryPath(index: index + 1, segments: Array(segments.prefix(index + 1)) + [Segment(token: token)])
    }

    /// The SPIFFE IDs the tokens name, hop by hop (`path_ids`); an unreadable token names none.
    var subjects: [String] { segments.compactMap { PathToken.unverifiedSubject(of: $0.token) } }
}
