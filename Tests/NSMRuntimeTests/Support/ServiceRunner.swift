import Foundation
import Glibc
import IPAddressing
import Logging
import NSMAPI
import NSMCore
import NSMRegistry
import Readiness
import ChildProcesses
import NSMAnnotation
import SwiftProtobuf
import NSMElements
import NSMRuntime
import ServiceLifecycle
import Synchronization

/// Runs groups of services for a test, each group a ServiceGroup that can be shut down
/// gracefully on its own (an endpoint "dying") while the rest goes on; `stopAll` shuts the
/// groups down in reverse start order, as a node would on SIGTERM.
final class ServiceRunner: Sendable {
    struct Handle: Sendable { let id: Int }
    private let groups = Mutex<[(id: Int, group: ServiceGroup, task: Task<Void, Never>, names: String)]>([])
    private let counter = Atomic<Int>(0)

    @discardableResult
    func start(_ services: [any Service]) -> Handle {
        let id = counter.add(1, ordering: .relaxed).newValue
        var logger = Logger(label: "test.services")
        logger.logLevel = .critical
        var configuration = ServiceGroupConfiguration(services: services.map { .init(service: $0) }, logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        let task = Task { do { try await group.run() } catch {} }
        let names = services.map { "\(type(of: $0))" }.joined(separator: ", ")
        groups.withLock { $0.append((id, group, task, names)) }
        return Handle(id: id)
    }

    /// Stops the services of `handle` (gracefully: sockets close, streams end) and waits.
    func kill(_ handle: Handle) async {
        let entry = groups.withLock { list -> (ServiceGroup, Task<Void, Never>, String)? in
            guard let index = list.firstIndex(where: { $0.id == handle.id }) else { return nil }
            let entry = list.remove(at: index)
            return (entry.group, entry.task, entry.names)
        }
        guard let (group, task, names) = entry else { return }
        await Self.stop(group, task, names: names)
    }

    func stopAll() async {
        let all = groups.withLock { list in defer { list = [] }; return list }
        for entry in all.reversed() {
            let start = Date()
            await Self.stop(entry.group, entry.task, names: entry.names)
            if ProcessInfo.processInfo.environment["NSM_TEST_TIMING"] != nil { print("group \(entry.id) stopped in \(Date().timeIntervalSince(start))") }
        }
    }

    /// Graceful shutdown (each group cancels what is left after 5 s); a group still running 15 s
    /// later is cancelled from outside, and one that ignores even that is reported on stderr and
    /// left behind, so one stuck service cannot hang the whole test run.
    private static func stop(_ group: ServiceGroup, _ task: Task<Void, Never>, names: String) async {
        await group.triggerGracefulShutdown()
        if await finished(task, within: 15) { return }
        task.cancel()
        if await finished(task, within: 10) { return }
        FileHandle.standardError.write(Data("warning: a service group (\(names)) did not stop within 25 s of its graceful shutdown, even when cancelled\n".utf8))
    }

    /// Whether `task` ends within `seconds` (it is not cancelled by this wait).
    private static func finished(_ task: Task<Void, Never>, within seconds: Double) async -> Bool {
        let outcome = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        return await withCheckedContinuation { continuation in
            outcome.withLock { $0 = continuation }
            let resume: @Sendable (Bool) -> Void = { value in outcome.withLock { $0.take() }?.resume(returning: value) }
            Task { await task.value; resume(true) }
            Task { try? await Task.sleep(for: .seconds(seconds)); resume(false) }
        }
    }
}
