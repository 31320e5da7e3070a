import Foundation
import Synchronization

/// A token bucket: `burst` calls at once, then `perSecond` (client-go's QPS and burst; the
/// mesh's `NSM_KUBELET_QPS`). A caller over the rate waits for its turn.
final class RateLimiter: Sendable {
    private struct State {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perSecond: Double
    let burst: Double
    private let state: Mutex<State>

    init(perSecond: Double, burst: Int) {
        self.perSecond = max(perSecond, 0.001)
        self.burst = Double(max(burst, 1))
        state = Mutex(State(tokens: Double(max(burst, 1)), updated: .now))
    }

    /// Takes a token, waiting until one is there.
    func acquire() async throws {
        let wait = state.withLock { state -> Duration in
            let now = ContinuousClock.now
            let elapsed = now - state.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(burst, state.tokens + seconds * perSecond)
            state.updated = now
            state.tokens -= 1
            // A negative balance is this caller's place in the queue.
            return state.tokens >= 0 ? .zero : .nanoseconds(Int64(-state.tokens / perSecond * 1e9))
        }
        if wait > .zero { try await Task.sleep(for: wait) }
    }
}
