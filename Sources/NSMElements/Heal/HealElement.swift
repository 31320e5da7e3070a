public import NSMAPI
public import NSMCore

/// On a client: has the ``HealMonitor`` follow each connection once it is established, and stop
/// on Close.
public struct HealElement: NetworkServiceElement {
    let monitor: HealMonitor

    public init(monitor: HealMonitor) { self.monitor = monitor }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let connection = try await next.request(request, context: context)
        monitor.watch(connection)
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        monitor.unwatch(connection.id)
        try await next.close(connection, context: context)
    }
}
