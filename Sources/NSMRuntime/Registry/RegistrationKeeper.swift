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
public struct RegistrationKeeper: Service {
    public let endpoint: Registry_NetworkServiceEndpoint
    /// Resolved with the registry's first answer: the component is reachable through the registry.
    public let registered = ReadySignal<Registry_NetworkServiceEndpoint>()
    let register: @Sendable (Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint
    let unregister: @Sendable (Registry_NetworkServiceEndpoint) async throws -> Void
    let logger: Logger

    public init(
        endpoint: Registry_NetworkServiceEndpoint, logger: Logger,
        register: @escaping @Sendable (Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint,
        unregister: @escaping @Sendable (Registry_NetworkServiceEndpoint) async throws -> Void
    ) {
        self.endpoint = endpoint
        self.register = register
        self.unregister = unregister
        self.logger = logger
    }

    public func run() async throws {
        var reported = false
        var backoff = Backoff()
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
            let pause = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
        do {
            try await unregister(endpoint)
            logger.info("unregistered", metadata: ["nsm.endpoint": "\(endpoint.name)"])
        } catch {
            logger.debug("unregister on shutdown failed", metadata: ["error": "\(error)"])
        }
    }
}

