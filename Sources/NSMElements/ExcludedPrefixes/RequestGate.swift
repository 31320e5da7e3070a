import Synchronization

/// Orders one pod's requests: first attempts run side by side (a pod's services connect
/// concurrently), while a request retried after a collision runs alone, once every request
/// already under way has settled — so the prefixes it excludes include theirs.
///
/// Waiters are admitted in arrival order; a shared request that arrives while an exclusive one
/// waits queues behind it, so retries are not starved by refreshes.
final class RequestGate: Sendable {
    private struct Waiter {
        var exclusive: Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var shared = 0
        var exclusive = false
        var waiting: [Waiter] = []

        func admits(exclusive wanted: Bool) -> Bool {
            wanted ? shared == 0 && !exclusive : !exclusive
        }

        mutating func enter(exclusive wanted: Bool) {
            if wanted { exclusive = true } else { shared += 1 }
        }
    }

    private let state = Mutex(State())

    /// Runs `body` once admitted: alone when `exclusive`, beside other shared runs otherwise.
    func run<T: Sendable>(exclusive: Bool, _ body: () async throws -> T) async throws -> T {
        await enter(exclusive: exclusive)
        defer { leave(exclusive: exclusive) }
        return try await body()
    }

    private func enter(exclusive: Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                guard state.waiting.isEmpty, state.admits(exclusive: exclusive) else {
                    state.waiting.append(Waiter(exclusive: exclusive, continuation: continuation))
                    return false
                }
                state.enter(exclusive: exclusive)
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    private func leave(exclusive: Bool) {
        let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if exclusive { state.exclusive = false } else { state.shared -= 1 }
            var admitted: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiting.first, state.admits(exclusive: first.exclusive) {
                state.waiting.removeFirst()
                state.enter(exclusive: first.exclusive)
                admitted.append(first.continuation)
            }
            return admitted
        }
        for continuation in admitted { continuation.resume() }
    }
}
