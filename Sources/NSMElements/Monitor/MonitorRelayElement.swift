public import NSMAPI
public import NSMCore

/// Starts a ``MonitorRelay`` watch after each successful Request (toward the next hop the
/// request went to) and stops it on Close.
public struct MonitorRelayElement: NetworkServiceElement {
    let relay: MonitorRelay

    public init(relay: MonitorRelay) { self.relay = relay }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let connection = try await next.request(request, context: context)
        if let url = context.nextHop { relay.watch(connection, at: url) }
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        relay.unwatch(connection.id)
        try await next.close(connection, context: context)
    }
}
