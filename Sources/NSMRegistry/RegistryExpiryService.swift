import Foundation
public import ServiceLifecycle

/// Removes expired endpoint registrations as they expire (checked at least once a second).
public struct RegistryExpiryService: Service {
    let storage: any RegistryStorage

    public init(storage: any RegistryStorage) { self.storage = storage }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            storage.expire()
            let wait = min(1.0, max(0.01, (storage.nextExpiry?.timeIntervalSinceNow ?? 1.0)))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        }
    }
}
