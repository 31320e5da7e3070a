import Foundation
import Logging
import NSMCore
public import NSMAPI
public import ServiceLifecycle
import SwiftProtobuf
public import Readiness

/// Keeps an endpoint (or forwarder) registered: registers it, re-registers at 2/3 of the
/// remaining lifetime the registry granted (as upstream: ≈40 s of a 1-minute expiry), retries
/// after a failure with exponential back-off (200 ms doubling to 5 s, with jitter), logging once
/// when registration starts failing and once when it works again, and unregisters on graceful
/// shutdown.
///
/// Between registrations it watches its own entry (`watch`, a watching Find): when that stream
/// ends — the registry restarted empty, or the manager relaying it did and lost its table of
/// local endpoints — it registers again at once instead of 40 s later, when clients would have
/// found nothing (or a stale entry) all that time. A watch that keeps ending at once is backed
/// off like a failure.
public struct RegistrationKeeper: Service {
    public let endpoint: Registry_NetworkServiceEndpoint
    /// Resolved with the registry's first answer: the component is reachable through the registry.
    public let registered = ReadySignal<Registry_NetworkServiceEndpoint>()
    let register: @Sendable (Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint
    let unregister: @Sendable (Registry_NetworkServiceEndpoint) async throws -> Void
    let watch: (@Sendable (Registry_NetworkServiceEndpoint) async throws -> Void)?
    let logger: Logger

    /// - Parameter watch: follows the registered entry; returns (or throws) when the keeper
    ///   should register again (the stream ended, the entry was deleted). `nil`: no watching.
    public init(
        endpoint: Registry_NetworkServiceEndpoint, logger: Logger,
        register: @escaping @Sendable (Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint,
        unregister: @escaping @Sendable (Registry_NetworkServiceEndpoint) async throws -> Void,
        watch: (@Sendable (Registry_NetworkServiceEndpoint) async throws -> Void)? = nil
    ) {
        self.endpoint = endpoint
        self.register = register
        self.unregister = unregister
        self.watch = watch
        self.logger = logger
    }

    public func run() async throws {
        var reported = false
        var backoff = Backoff(), watchEnds = Backoff()
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            var wait: Duration
            do {
                var request = endpoint
                request.clearExpirationTime()
                let answer = try await register(request)
                if !reported {
                    logger.info("registered", metadata: ["nsm.endpoint": "\(answer.name)", "url": "\(answer.url)"])
                    registered.resolve(answer)
                    reported = true
                } else if backoff.failures > 0 {
                    logger.info("registered again", metadata: ["nsm.endpoint": "\(answer.name)", "failed attempts": "\(backoff.failures)"])
                }
                backoff.reset()
                let remaining = answer.hasExpirationTime ? answer.expirationTime.date.timeIntervalSinceNow : 60
                wait = .milliseconds(Int(max(0.05, remaining * 2 / 3) * 1000))
            } catch {
                if backoff.failures == 0 {
                    logger.warning("registration failed; retrying with back-off (up to every 5 s) until it works", metadata: [
                        "nsm.endpoint": "\(endpoint.name)", "error": "\(error)",
                    ])
                }
                wait = backoff.next()
            }
            let pause = wait, watching = backoff.failures == 0 ? watch : nil
            let started = ContinuousClock.now
            let ended = (try? await cancelWhenGracefulShutdown { try await Self.wait(pause, watching: watching, endpoint) }) ?? false
            guard ended, !Task.isCancelled, !Task.isShuttingDownGracefully else { continue }
            if ContinuousClock.now - started < .seconds(1) {
                let pause = watchEnds.next()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } else {
                watchEnds.reset()
            }
            logger.info("registry watch ended (the registry or the manager relaying it restarted?); registering again", metadata: ["nsm.endpoint": "\(endpoint.name)"])
        }
        do {
            try await unregister(endpoint)
            logger.info("unregistered", metadata: ["nsm.endpoint": "\(endpoint.name)"])
        } catch {
            logger.debug("unregister on shutdown failed", metadata: ["error": "\(error)"])
        }
    }

    /// Sleeps `pause`, or less if `watch` ends first; true when it did.
    private static func wait(
        _ pause: Duration, watching watch: (@Sendable (Registry_NetworkServiceEndpoint) async throws -> Void)?, _ endpoint: Registry_NetworkServiceEndpoint
    ) async throws -> Bool {
        guard let watch else {
            try await Task.sleep(for: pause)
            return false
        }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await Task.sleep(for: pause)
                return false
            }
            group.addTask {
                try? await watch(endpoint)
                try Task.checkCancellation()
                return true
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }
}
