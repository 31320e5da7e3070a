import ServiceLifecycle
import GRPCCore
public import NSMAPI
public import NSMElements
import NSMCore
public import SPIFFE

/// Serves `/connection.MonitorConnection/MonitorConnections` from a ``ConnectionMonitor``.
///
/// With `owners` (the manager), a caller sees only the connections it created (upstream's
/// monitor policy), except this hop's own identity — the node's tools — which sees them all.
/// The initial state is always sent, if empty.
public struct MonitorConnectionGRPCService: Connection_MonitorConnection.SimpleServiceProtocol {
    let monitor: ConnectionMonitor
    let owners: ConnectionOwnerElement?
    let identity: (any X509Source)?

    public init(monitor: ConnectionMonitor, owners: ConnectionOwnerElement? = nil, identity: (any X509Source)? = nil) {
        self.monitor = monitor
        self.owners = owners
        self.identity = identity
    }

    public func monitorConnections(
        request: Connection_MonitorScopeSelector, response: RPCWriter<Connection_ConnectionEvent>, context: ServerContext
    ) async throws {
        let caller = Caller.ofCurrentCall(peer: context.remotePeer)
        let own = identity.flatMap { try? $0.current().svid.id.description }
        let seesAll = owners == nil || caller.identity == nil || (own != nil && caller.spiffeID == own)
        for await event in monitor.subscribe(request).cancelOnGracefulShutdown() {
            guard !seesAll, let owners, let who = caller.identity else {
                try await response.write(event)
                continue
            }
            var mine = event
            mine.connections = event.connections.filter { owners.owner(of: $0.key) == who }
            if mine.connections.isEmpty, event.type != .initialStateTransfer { continue }
            try await response.write(mine)
        }
    }
}
