import ServiceLifecycle
import SwiftProtobuf
import GRPCCore
public import NSMAPI

/// Serves `grpc.health.v1.Health`: every component answers SERVING for "" and for the
/// services it hosts, NOT_FOUND for others.
public struct HealthGRPCService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let services: Set<String>

    public init(services: [String]) { self.services = Set(services + [""]) }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard services.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \"\(request.service)\"; known: \(services.sorted().filter { !$0.isEmpty })")
        }
        return .with { $0.status = .serving }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext
    ) async throws {
        try await response.write(.with { $0.status = services.contains(request.service) ? .serving : .serviceUnknown })
        try? await gracefulShutdown()
    }
}
