public import Readiness

/// Whether a component serves, for `grpc.health.v1.Health` (and Kubernetes' gRPC probes): NOT_SERVING
/// until the component says it is ready (the manager has its forwarder, the endpoint is
/// registered, the registry has listed its store), SERVING from then on, NOT_SERVING again once
/// graceful shutdown begins.
public final class HealthStatus: Sendable {
    private let ready = ReadySignal<Void>()
    private let stopping = ReadySignal<Void>()

    public init() {}

    public func markReady() { ready.resolve(()) }
    public func markStopping() { stopping.resolve(()) }

    public var isServing: Bool { ready.value != nil && stopping.value == nil }

    /// Returns once ready (at once if it is).
    public func waitReady() async throws { try await ready.wait() }
    /// Returns once stopping.
    public func waitStopping() async throws { try await stopping.wait() }
}
