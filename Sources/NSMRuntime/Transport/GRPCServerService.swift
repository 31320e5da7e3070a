import Foundation
import GRPCCore
import LeanGRPC
import Logging
public import NSMCore
public import ServiceLifecycle
import Readiness
public import SPIFFE

/// A gRPC server on one URL as a Service: serves until graceful shutdown, then lets in-flight
/// calls finish. ``listening`` reports the bound address (useful with port 0).
public final class GRPCServerService: Service, Sendable {
    public let url: NSMURL
    let services: [any RegistrableRPCService]
    let logger: Logger
    /// This process's SPIFFE identity: mutual TLS on this server; `nil` for plaintext.
    let identity: (any X509Source)?
    private let ready = ReadySignal<NSMURL>()
    /// Marked stopping when graceful shutdown begins (health answers NOT_SERVING while calls drain).
    let health: HealthStatus?

    public init(url: NSMURL, services: [any RegistrableRPCService], logger: Logger, identity: (any X509Source)?, health: HealthStatus? = nil) {
        self.url = url
        self.health = health
        self.services = services
        self.logger = logger
        self.identity = identity
    }

    /// The address the server listens on, once it does.
    public func listening() async throws -> NSMURL { try await ready.wait() }

    public func run() async throws {
        if case .unix(let path) = url {
            let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        }
        // The lean transport announces its stream limit (1,024 per connection): without one, HTTP/2
        // clients assume 100 and queue the rest, which throttles a manager serving hundreds of pods.
        let transport = LeanServerTransport(address: url.grpcAddress, security: identity.map { .spiffe($0, server: true) })
        let server = GRPCServer(transport: transport, services: services)
        let health = self.health
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await server.serve()
                } onGracefulShutdown: {
                    health?.markStopping()
                    server.beginGracefulShutdown()
                }
            }
            do {
                let url = NSMURL(listening: try await transport.listeningAddress)
                logger.info("listening", metadata: ["url": "\(url)"])
                ready.resolve(url)
            } catch {
                ready.fail(error)
                throw error
            }
        }
    }
}
