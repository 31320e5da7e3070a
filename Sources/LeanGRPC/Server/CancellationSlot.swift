import GRPCCore
import Synchronization

/// Where the stream's RPC cancellation handle goes once its task made one; cancelling before
/// that is remembered.
final class CancellationSlot: Sendable {
    private let state = Mutex<(handle: ServerContext.RPCCancellationHandle?, cancelled: Bool)>((nil, false))

    func attach(_ handle: ServerContext.RPCCancellationHandle) {
        let cancelled = state.withLock { state -> Bool in
            state.handle = handle
            return state.cancelled
        }
        if cancelled { handle.cancel() }
    }

    func cancel() {
        let handle = state.withLock { state -> ServerContext.RPCCancellationHandle? in
            state.cancelled = true
            return state.handle
        }
        handle?.cancel()
    }
}
