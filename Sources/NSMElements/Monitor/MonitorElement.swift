public import NSMAPI
public import NSMCore

/// Publishes this hop's view of each connection to a ``ConnectionMonitor``: UPDATE after a
/// successful Request, UPDATE with state DOWN when a refresh of a known connection fails,
/// DELETE after Close. Place it after ``UpdatePathElement`` so ids are this hop's own.
public struct MonitorElement: NetworkServiceElement {
    public let monitor: ConnectionMonitor

    public init(_ monitor: ConnectionMonitor) { self.monitor = monitor }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        do {
            let connection = try await next.request(request, context: context)
            monitor.update(connection)
            return connection
        } catch {
            if var known = monitor.connections[request.connection.id] {
                known.state = .down
                monitor.update(known)
            }
            throw error
        }
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        defer { monitor.delete(monitor.connections[connection.id] ?? connection) }
        try await next.close(connection, context: context)
    }
}
