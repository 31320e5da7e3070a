import Logging
public import NSMAPI
public import NSMCore

/// Serialises all events of one connection id at this hop: a Request, a refresh and a Close
/// for the same id never overlap. Rejects an empty id. A successful Request always answers
/// with state UP; an established connection asked to `RESELECT_REQUESTED` is first closed
/// downstream, then requested anew (with its endpoint choice cleared); one requested again
/// without the rest of its path is refreshed along the established path (``takingOver(_:with:)``).
///
/// Place it right after ``UpdatePathElement`` and before any element that keeps state.
public struct BeginElement: NetworkServiceElement {
    let serializer: KeyedSerializer
    let established: MetadataStore

    private enum Previous: MetadataKey { typealias Value = Connection_Connection }

    public init() {
        self.serializer = KeyedSerializer()
        self.established = MetadataStore()
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let id = request.connection.id
        guard !id.isEmpty else { throw NSMError.invalidArgument("request.connection.id must not be empty") }
        return try await serializer.run(id) {
            var request = request
            if request.connection.state == .reselectRequested, let previous = established.existing(for: id)?[Previous.self] {
                context.logger.debug("reselect requested: closing the previous path first", metadata: ["nsm.connection.id": "\(id)"])
                try? await next.close(previous, context: context)
                established.remove(id)
                request.connection.networkServiceEndpointName = ""
                request.connection.mechanism = Connection_Mechanism()
            } else if let previous = established.existing(for: id)?[Previous.self] {
                request.connection = Self.takingOver(previous, with: request.connection)
            }
            request.connection.state = .up
            var connection = try await next.request(request, context: context)
            connection.state = .up
            established.metadata(for: id)[Previous.self] = connection
            return connection
        }
    }

    /// A Request for an established id that lacks the rest of the path (a client that restarted
    /// sends its old id with no path, as upstream's do) is a refresh of what is established: the
    /// hops after this one keep their segments — and with them their connection ids, the
    /// interfaces and addresses they made — and the endpoint stays the one chosen.
    static func takingOver(_ previous: Connection_Connection, with requested: Connection_Connection) -> Connection_Connection {
        var connection = requested
        let index = Int(connection.path.index)
        let known = previous.path.pathSegments
        guard connection.path.pathSegments.count == index + 1, known.count > index + 1,
              Int(previous.path.index) == index, known[index].id == connection.path.pathSegments[index].id
        else { return connection }
        connection.path.pathSegments += known[(index + 1)...]
        if connection.networkServiceEndpointName.isEmpty { connection.networkServiceEndpointName = previous.networkServiceEndpointName }
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        let id = connection.id
        guard !id.isEmpty else { throw NSMError.invalidArgument("connection.id must not be empty") }
        try await serializer.run(id) {
            defer { established.remove(id) }
            try await next.close(connection, context: context)
        }
    }
}
