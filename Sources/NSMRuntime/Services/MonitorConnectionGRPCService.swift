import ServiceLifecycle
import GRPCCore
public import NSMAPI
public import NSMElements
import NSMCore
public import SPIFFE

/// Serves `/connection.MonitorConnection/MonitorConnections` from a ``ConnectionMonitor``.
///
/// With `owners` (the manager), a caller sees only the connections it created (upstream's
/// monitor policy), except this hop's own identity — the node's tools — which sees them all; the
/// DELETE of a connection it was shown reaches it too.
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
        // The connections this caller was shown: a Close forgets the owner before its DELETE
        // event is read here, so a DELETE goes to whoever saw the connection.
        var shown: Set<String> = []
        for await event in monitor.subscribe(request).cancelOnGracefulShutdown() {
            guard !seesAll, let owners, let who = caller.identity else {
                try await response.write(event)
                continue
            }
            var mine = event
            if event.type == .delete {
                mine.connections = event.connections.filter { shown.remove($0.key) != nil || owners.owner(of: $0.key) == who }
            } else {
                mine.connections = event.connections.filter { owners.owner(of: $0.key) == who }
                shown.formUnion(mine.connections.keys)
            }
            if mine.connections.isEmpty, event.type != .initialStateTransfer { continue }
            try await response.write(mine)
        }
    }
}
