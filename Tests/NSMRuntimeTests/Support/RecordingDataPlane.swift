import NSMElements
import Synchronization

/// A data plane that records what the forwarder asked of it (stands in for the kernel only in
/// these control-plane tests; the kernel data plane has its own tests).
final class RecordingDataPlane: ForwarderDataPlane {
    private let state = Mutex<(connected: [String: Plumbing], history: [String])>(([:], []))

    func connect(_ plumbing: Plumbing) async throws {
        state.withLock {
            $0.connected[plumbing.connectionID] = plumbing
            $0.history.append("connect \(plumbing.connectionID)")
        }
    }

    func disconnect(_ plumbing: Plumbing) async throws {
        state.withLock {
            $0.connected.removeValue(forKey: plumbing.connectionID)
            $0.history.append("disconnect \(plumbing.connectionID)")
        }
    }

    var connected: [String: Plumbing] { state.withLock { $0.connected } }
    var history: [String] { state.withLock { $0.history } }
}
