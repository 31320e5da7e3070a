import Foundation
public import NSMAPI
public import NSMCore

/// Adds (or finds) this hop's segment in the connection's path, and sets the connection id to
/// that segment's id for the rest of the chain; on the way back restores the caller's id and
/// path index. Index handling follows upstream NSM exactly, so our paths look like theirs:
///
/// - empty path: a first segment is added (its id is the request's connection id when given,
///   as clients name their connections `<name>-<i>`, otherwise a new UUID);
/// - the segment at `index` already has this hop's name (a refresh): reused as is;
/// - otherwise `index` advances; a segment there with this hop's name is reused, anything else
///   from there on is replaced by a new segment with a new id.
///
/// Must be the first element of every server and client chain.
public struct UpdatePathElement: NetworkServiceElement {
    public let name: String

    public init(name: String) { self.name = name }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        let previous = try Self.update(&request.connection, name: name)
        var connection = try await next.request(request, context: context)
        try Self.restore(&connection, to: previous)
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var connection = connection
        _ = try Self.update(&connection, name: name)
        try await next.close(connection, context: context)
    }

    /// Updates `connection`'s path for a hop called `name`; returns the caller's index.
    public static func update(_ connection: inout Connection_Connection, name: String) throws(NSMError) -> Int {
        var path = connection.path
        let previous: Int
        if path.pathSegments.isEmpty {
            guard !connection.id.isEmpty else {
                throw .invalidArgument("request.connection.id must not be empty (clients name connections <name>-<index>)")
            }
            let id = connection.id
            path.pathSegments = [Connection_PathSegment(name: name, id: id)]
            path.index = 0
            previous = 0
        } else {
            let index = Int(path.index)
            guard index < path.pathSegments.count else {
                throw .invalidArgument(
                    "connection.path.index \(index) is out of range: the path has \(path.pathSegments.count) segments")
            }
            if path.pathSegments[index].name == name {
                previous = index
            } else {
                let nextIndex = index + 1
                previous = index
                path.index = UInt32(nextIndex)
                if nextIndex < path.pathSegments.count, path.pathSegments[nextIndex].name == name {
                    // A refresh through the same hops: keep our segment and its id.
                } else {
                    // This hop already appears earlier on the path: the request came back to us
                    // (e.g. a stale registration that points a local endpoint at our own URL).
                    if path.pathSegments[..<nextIndex].contains(where: { $0.name == name }) {
                        throw .unavailable("the path loops back through \(name) (\(path.pathSegments[..<nextIndex].map(\.name).joined(separator: " → "))); the next hop's registration is stale")
                    }
                    path.pathSegments.removeSubrange(min(nextIndex, path.pathSegments.count)...)
                    path.pathSegments.append(Connection_PathSegment(name: name, id: randomUUIDString()))
                }
            }
        }
        connection.path = path
        connection.id = path.pathSegments[Int(path.index)].id
        return previous
    }

    /// Restores the caller's view: its segment id as the connection id, its index.
    static func restore(_ connection: inout Connection_Connection, to previous: Int) throws(NSMError) {
        guard previous < connection.path.pathSegments.count else {
            throw .internalError("the next hop returned a path with \(connection.path.pathSegments.count) segments; expected more than \(previous)")
        }
        connection.id = connection.path.pathSegments[previous].id
        connection.path.index = UInt32(previous)
    }
}
