import ServiceLifecycle
import GRPCCore
public import NSMAPI
public import NSMElements

/// Serves `/connection.MonitorConnection/MonitorConnections` from a ``ConnectionMonitor``.
public struct MonitorConnectionGRPCService: Connection_MonitorConnection.SimpleServiceProtocol {
    let monitor: ConnectionMonitor

    public init(monitor: ConnectionMonitor) { self.monitor = monitor }

    public func monitorConnections(
        request: Connection_MonitorScopeSelector, response: RPCWriter<Connection_ConnectionEvent>, context: ServerContext
    ) async throws {
        for await event in monitor.subscribe(request).cancelOnGracefulShutdown() {
            try await response.write(event)
        }
    }
}
