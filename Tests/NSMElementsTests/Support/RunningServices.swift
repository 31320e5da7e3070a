import Logging
import ServiceLifecycle

/// Runs services for the length of `body` in a ServiceGroup (as a component runs them) and
/// shuts them down gracefully afterwards, even when `body` throws.
func withRunning<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Waits for `condition`, checking each time the task yields, for up to `seconds` (a deadline,
/// generous because a loaded machine runs every suite at once; a passing run never waits for it).
func eventually(_ what: String, seconds: Double = 30, _ condition: @Sendable () -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
    while !condition() {
        guard clock.now < deadline else { throw Expired(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

struct Expired: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}
