import Foundation
@testable import Readiness
import Testing

@Suite("Readiness", .serialized)
struct ReadySignalTests {
    struct Refused: Error, Equatable {}

    @Test("waiters before and after resolution get the value; later resolutions and failures are ignored")
    func resolves() async throws {
        let signal = ReadySignal<Int>()
        #expect(signal.value == nil)
        async let early = signal.wait()
        // The early waiter may or may not be registered yet; both paths must give the value.
        signal.resolve(7)
        signal.resolve(8)
        signal.fail(Refused())
        #expect(try await early == 7)
        #expect(try await signal.wait() == 7 && signal.value == 7)
    }

    @Test("a failure reaches every waiter")
    func fails() async throws {
        let signal = ReadySignal<Void>()
        let waiting = Task { try await signal.wait() }
        signal.fail(Refused())
        await #expect(throws: Refused.self) { try await waiting.value }
        await #expect(throws: Refused.self) { try await signal.wait() }
    }

    @Test("a cancelled waiter stops waiting; the signal still serves the others")
    func cancellation() async throws {
        let signal = ReadySignal<String>()
        let waiter = Task { try await signal.wait() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        signal.resolve("up")
        #expect(try await signal.wait() == "up")
    }

    @Test("READY=1 sent to NOTIFY_SOCKET resolves the receiver with the status; other messages do not")
    func notificationSocket() async throws {
        let path = NSTemporaryDirectory() + "nsm-notify-\(UUID().uuidString.prefix(8)).sock"
        let socket = try NotificationSocket(path: path)
        defer { socket.close() }
        setenv("NOTIFY_SOCKET", path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        #expect(ServiceNotification.send("STATUS=starting\n", to: path))
        #expect(ServiceNotification.ready(status: "listening on unix:///x"))
        #expect(try await socket.ready.wait() == "listening on unix:///x")
    }

    @Test("a closed receiver dropped after a new one was made does not silence the new one (its descriptor number may be the new one's)")
    func droppedReceiverLeavesTheNextAlone() async throws {
        let directory = NSTemporaryDirectory() + "nsm-notify-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // As a restarted child: the old receiver closed, a new one at the same path, the old dropped.
        for round in 0..<50 {
            let path = "\(directory)/child.notify"
            var old: NotificationSocket? = try NotificationSocket(path: path)
            old?.close()
            try await old?.stopped.wait()  // its descriptor number is free now: the next socket takes it
            let new = try NotificationSocket(path: path)
            defer { new.close() }
            old = nil
            _ = old
            #expect(ServiceNotification.send("READY=1\nSTATUS=round \(round)\n", to: path))
            let status = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { try await new.ready.wait() }
                group.addTask {
                    try await Task.sleep(for: .seconds(5))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(status == "round \(round)", "round \(round): the new receiver never heard READY=1")
            if status == nil { break }
        }
    }

    @Test("without NOTIFY_SOCKET nothing is sent")
    func noSocket() {
        unsetenv("NOTIFY_SOCKET")
        #expect(!ServiceNotification.ready(status: "x"))
    }
}
