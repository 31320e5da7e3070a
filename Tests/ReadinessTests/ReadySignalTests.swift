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

    @Test("without NOTIFY_SOCKET nothing is sent")
    func noSocket() {
        unsetenv("NOTIFY_SOCKET")
        #expect(!ServiceNotification.ready(status: "x"))
    }
}
