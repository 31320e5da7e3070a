import Logging
public import NSMAPI
public import NSMCore

/// The last element of a passthrough hop: sends the request on to the next hop's URL and
/// returns its answer. The URL comes from `target` (e.g. the chosen forwarder or endpoint) and
/// is remembered per connection, so Close goes where Request went.
public struct ConnectElement: NetworkServiceElement {
    public typealias Target = @Sendable (Networkservice_NetworkServiceRequest, ChainContext) async throws -> NSMURL

    let dialer: any NetworkServiceDialer
    let target: Target

    private enum Chosen: MetadataKey { typealias Value = NSMURL }

    public init(dialer: any NetworkServiceDialer, target: @escaping Target) {
        self.dialer = dialer
        self.target = target
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let url = try await target(request, context)
        let connection = try await dialer.remote(for: url).request(request)
        context.metadata[Chosen.self] = url
        return try await next.request(
            Networkservice_NetworkServiceRequest(connection: connection, preferences: []), context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        // After a restart the metadata is gone: derive the next hop from the connection itself
        // (its path and endpoint name), as upstream routes Close.
        var url = context.metadata[Chosen.self]
        if url == nil { url = try? await target(Networkservice_NetworkServiceRequest(connection: connection, preferences: []), context) }
        if let url {
            try await dialer.remote(for: url).close(connection)
        } else {
            context.logger.debug("close: no next hop known", metadata: ["nsm.connection.id": "\(connection.id)"])
        }
        try await next.close(connection, context: context)
    }
}
