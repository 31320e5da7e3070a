import Synchronization

/// A one-shot readiness signal: whoever makes something ready resolves it (once) with a value
/// — a bound address, a registration — or fails it; any number of tasks wait for it, and a
/// waiting task that is cancelled stops waiting. The one way every server, the DNS proxy and
/// the local mesh's process supervision say "ready", so nothing polls.
public final class ReadySignal<Value: Sendable>: Sendable {
    private enum State {
        case waiting([UInt64: CheckedContinuation<Value, any Error>], next: UInt64)
        case ready(Value)
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([:], next: 0))

    public init() {}

    /// The value once ready; nil before (or after a failure).
    public var value: Value? {
        state.withLock { if case .ready(let value) = $0 { value } else { nil } }
    }

    /// Waits until the signal is resolved (returns its value) or failed (throws its error);
    /// throws `CancellationError` if the waiting task is cancelled first.
    public func wait() async throws -> Value {
        let ticket = Mutex<UInt64?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { state -> Result<Value, any Error>? in
                    switch state {
                    case .waiting(var waiters, let next):
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[next] = continuation
                        state = .waiting(waiters, next: next + 1)
                        ticket.withLock { $0 = next }
                        return nil
                    case .ready(let value): return .success(value)
                    case .failed(let error): return .failure(error)
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Value, any Error>? in
                guard case .waiting(var waiters, let next) = state, let id = ticket.withLock({ $0 }) else { return nil }
                let removed = waiters.removeValue(forKey: id)
                state = .waiting(waiters, next: next)
                return removed
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Resolves the signal; later calls (and failures) are ignored.
    public func resolve(_ value: Value) { settle(.success(value)) }

    /// Fails the signal (e.g. the bind failed, the process exited); ignored once settled.
    public func fail(_ error: any Error) { settle(.failure(error)) }

    private func settle(_ outcome: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            guard case .waiting(let waiters, _) = state else { return [] }
            switch outcome {
            case .success(let value): state = .ready(value)
            case .failure(let error): state = .failed(error)
            }
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}

extension ReadySignal where Value == Void {
    public func resolve() { resolve(()) }
}
