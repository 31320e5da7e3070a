public import NSMAPI
import Synchronization

extension NetworkServicePeer {
    /// The connections the peer holds now: the first event of its `MonitorConnections` (the
    /// initial state transfer), then the stream is left. Throws if the stream breaks or ends first.
    public func connectionSnapshot(_ selector: Connection_MonitorScopeSelector = .init()) async throws -> [Connection_Connection] {
        let found = SnapshotBox()
        do {
            try await monitorConnections(selector) { event in
                guard event.type == .initialStateTransfer else { return }
                let connections = event.connections.values.sorted { $0.id < $1.id }
                found.connections.withLock { $0 = connections }
                throw SnapshotTaken()
            }
        } catch is SnapshotTaken {}
        guard let connections = found.connections.withLock({ $0 }) else {
            throw MonitorSnapshotError(description: "\(url) ended its connection monitor before sending its connections")
        }
        return connections
    }
}

public struct MonitorSnapshotError: Error, CustomStringConvertible {
    public var description: String
}

private struct SnapshotTaken: Error {}

/// Written by the monitor's event handler, read after it returned.
private final class SnapshotBox: Sendable {
    let connections = Mutex<[Connection_Connection]?>(nil)
}
