import Foundation
import Logging
public import NSMAPI
public import ServiceLifecycle
import SwiftProtobuf

/// Keeps an endpoint (or forwarder) registered: registers it, re-registers at 2/3 of the
/// remaining lifetime the registry granted (as upstream: ≈40 s of a 1-minute expiry), retries
/// every 200 ms after a failure, and unregisters on graceful shutdown.
public struct RegistrationKeeper: Service {
    public let endpoint: Registry_NetworkServiceEndpoint
    let register: @Sendable (Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint
    let unregister: @Sendable (Registry_NetworkServiceEndpoint) async throws -> Void
    let logger: Logger
    let registered: (@Sendable (Registry_NetworkServiceEndpoint) -> Void)?

    public init(
        endpoint: Registry_NetworkServiceEndpoint, logger: Logger,
        register: @escaping @Sendable (Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint,
        unregister: @escaping @Sendable (Registry_NetworkServiceEndpoint) async throws -> Void,
        registered: (@Sendable (Registry_NetworkServiceEndpoint) -> Void)? = nil
    ) {
        self.endpoint = endpoint
        self.register = register
        self.unregister = unregister
        self.logger = logger
        self.registered = registered
    }

    public func run() async throws {
        var reported = false
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            var wait = Duration.milliseconds(200)
            do {
                var request = endpoint
                request.clearExpirationTime()
                let answer = try await register(request)
                if !reported {
                    logger.info("registered", metadata: ["nsm.endpoint": "\(answer.name)", "url": "\(answer.url)"])
                    reported = true
                }
                registered?(answer)
                let remaining = answer.hasExpirationTime ? answer.expirationTime.date.timeIntervalSinceNow : 60
                wait = .milliseconds(Int(max(0.05, remaining * 2 / 3) * 1000))
            } catch {
                logger.warning("registration failed; retrying", metadata: ["error": "\(error)"])
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

