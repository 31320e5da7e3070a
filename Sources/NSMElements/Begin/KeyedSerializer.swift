/// Runs async work one at a time per key, in arrival order; different keys run in parallel.
public actor KeyedSerializer {
    private var queues: [String: [CheckedContinuation<Void, Never>]] = [:]

    public init() {}

    public func run<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(key)
        do {
            let result = try await body()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }

    private func acquire(_ key: String) async {
        if queues[key] == nil {
            queues[key] = []
            return
        }
        await withCheckedContinuation { queues[key]!.append($0) }
    }

    private func release(_ key: String) {
        guard var waiters = queues[key] else { return }
        if waiters.isEmpty {
            queues[key] = nil
        } else {
            let first = waiters.removeFirst()
            queues[key] = waiters
            first.resume()
        }
    }
}
