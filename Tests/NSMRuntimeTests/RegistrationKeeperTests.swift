import Foundation
import Logging
import NSMAPI
import NSMRuntime
import SwiftProtobuf
import Synchronization
import Testing

@Suite("RegistrationKeeper")
struct RegistrationKeeperTests {
    /// A registry as the keeper sees it: registrations granted for a minute; each watch of the
    /// entry lasts until the test breaks it (as a registry or relaying manager restarting does).
    final class FakeRegistry: Sendable {
        let registrations = Mutex(0)
        let watches = Mutex(0)
        let breaks = Mutex(0)

        func register(_ endpoint: Registry_NetworkServiceEndpoint) -> Registry_NetworkServiceEndpoint {
            registrations.withLock { $0 += 1 }
            var granted = endpoint
            granted.expirationTime = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(60))
            return granted
        }

        func watch() async throws {
            let seen = breaks.withLock { $0 }
            watches.withLock { $0 += 1 }
            while breaks.withLock({ $0 }) == seen {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    @Test("when the watch of its entry ends (the registry restarted empty), it registers again at once, not at its next renewal 40 s later")
    func registersAgainWhenTheWatchEnds() async throws {
        let registry = FakeRegistry()
        let keeper = RegistrationKeeper(
            endpoint: .with { $0.name = "nse-k"; $0.url = "unix:///tmp/nse-k.sock" }, logger: Logger(label: "test"),
            register: { registry.register($0) }, unregister: { _ in }, watch: { _ in try await registry.watch() })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await keeper.run() }
            defer { group.cancelAll() }
            try await waitUntil("the first registration and watch") { registry.registrations.withLock { $0 } == 1 && registry.watches.withLock { $0 } == 1 }
            registry.breaks.withLock { $0 += 1 }
            try await waitUntil("a second registration", seconds: 10) { registry.registrations.withLock { $0 } == 2 }
            try await waitUntil("the entry watched again") { registry.watches.withLock { $0 } == 2 }
        }
        #expect(registry.registrations.withLock { $0 } == 2)
    }
}
