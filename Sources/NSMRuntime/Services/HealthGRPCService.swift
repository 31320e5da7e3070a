import ServiceLifecycle
import SwiftProtobuf
import GRPCCore
public import NSMAPI

/// Serves `grpc.health.v1.Health` for "" and the services the component hosts (NOT_FOUND, or
/// SERVICE_UNKNOWN on Watch, for others): NOT_SERVING until ``HealthStatus`` says ready, SERVING
/// while it serves, NOT_SERVING once it stops. Watch sends each change.
public struct HealthGRPCService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let services: Set<String>
    let status: HealthStatus

    public init(services: [String], status: HealthStatus) {
        self.services = Set(services + [""])
        self.status = status
    }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard services.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \"\(request.service)\"; known: \(services.sorted().filter { !$0.isEmpty })")
        }
        return .with { $0.status = status.isServing ? .serving : .notServing }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext
    ) async throws {
        guard services.contains(request.service) else {
            try await response.write(.with { $0.status = .serviceUnknown })
            try? await gracefulShutdown()
            return
        }
        if !status.isServing {
            try await response.write(.with { $0.status = .notServing })
            try await status.waitReady()
        }
        if status.isServing {
            try await response.write(.with { $0.status = .serving })
            try await status.waitStopping()
        }
        try await response.write(.with { $0.status = .notServing })
    }
}
