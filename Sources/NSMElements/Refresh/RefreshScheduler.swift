public import ServiceLifecycle
import Synchronization

/// Runs the refresh of each connection when it is due, in this service's task group (no stray
/// tasks): arming again replaces the previous time, disarming cancels it.
public final class RefreshScheduler: Service, Sendable {
    public typealias Refresh = @Sendable (String) async -> Void

    private struct Armed: Sendable {
        var id: String
        var generation: Int
        var delay: Duration
    }

    private struct State {
        var generations: [String: Int] = [:]
        var next = 0
        var refresh: Refresh?
    }

    private let state = Mutex(State())
    private let armed: AsyncStream<Armed>
    private let armedContinuation: AsyncStream<Armed>.Continuation

    public init() { (armed, armedContinuation) = AsyncStream.makeStream() }

    /// What to run when a connection is due (set once the component that refreshes exists).
    public func attach(_ refresh: @escaping Refresh) { state.withLock { $0.refresh = refresh } }

    public func arm(_ id: String, after delay: Duration) {
        let generation = state.withLock { state -> Int in
            state.next += 1
            state.generations[id] = state.next
            return state.next
        }
        armedContinuation.yield(Armed(id: id, generation: generation, delay: delay))
    }

    public func disarm(_ id: String) { state.withLock { _ = $0.generations.removeValue(forKey: id) } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await entry in armed.cancelOnGracefulShutdown() {
                group.addTask {
                    do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: entry.delay) } } catch { return }
                    let refresh = self.state.withLock { state -> Refresh? in
                        guard state.generations[entry.id] == entry.generation else { return nil }
                        state.generations.removeValue(forKey: entry.id)
                        return state.refresh
                    }
                    await refresh?(entry.id)
                }
            }
            group.cancelAll()
        }
    }
}
