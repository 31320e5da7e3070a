public import NSMAPI
public import Tracing
import Synchronization

/// Spans for the mesh's chains (docs/observability.md): one per hop (opened by the hop's gRPC
/// service, its in-process peer, or the client) and, when asked for, one per chain element
/// inside it, carried from hop to hop by the W3C `traceparent` in the call's metadata. Off — no
/// span is made, not even a no-op one — until a process bootstraps a tracer and switches this on.
public enum ChainTracing {
    private static let on = Atomic<Bool>(false)
    private static let elements = Atomic<Bool>(false)

    public static var isOn: Bool { on.load(ordering: .relaxed) }

    /// Called once the process's tracer is bootstrapped (`InstrumentationSystem`); `elements`
    /// adds a span per chain element (about fifteen per hop) to the hops' spans.
    public static func switchOn(elements: Bool) {
        Self.elements.store(elements, ordering: .relaxed)
        on.store(true, ordering: .relaxed)
    }

    /// Stops making spans (the benchmark measures with and without them in one process).
    public static func switchOff() { on.store(false, ordering: .relaxed) }

    /// Runs `body` in a span for hop `hop` ("client", "manager", "forwarder", "endpoint")
    /// handling `method` ("Request", "Close") of `connection`, as a child of `context` (the
    /// caller's, taken from the call's metadata) or of the current span; the span says which hop,
    /// connection and service, and how the call ended.
    public static func hop<Result: Sendable>(
        _ hop: String, _ method: String, connection: Connection_Connection, kind: SpanKind = .server,
        context: ServiceContext? = nil, _ body: () async throws -> Result
    ) async throws -> Result {
        guard isOn else { return try await body() }
        return try await span("networkservice.NetworkService/\(method)", kind: kind, context: context ?? .current ?? .topLevel, body) { attributes in
            attributes["nsm.hop"] = hop
            attributes["nsm.connection.id"] = connection.id
            attributes["nsm.service"] = connection.networkService
        }
    }

    /// Runs `body` — a call to the next hop at `peer` — in a client span, a child of the current
    /// one, when element spans are on (otherwise the next hop's span is the child of this hop's).
    public static func outgoing<Result: Sendable>(
        _ method: String, connection: Connection_Connection, peer: String, _ body: () async throws -> Result
    ) async throws -> Result {
        guard isOn, elements.load(ordering: .relaxed) else { return try await body() }
        return try await span("networkservice.NetworkService/\(method)", kind: .client, context: .current ?? .topLevel, body) { attributes in
            attributes["server.address"] = peer
            attributes["nsm.connection.id"] = connection.id
        }
    }

    private static func span<Result: Sendable>(
        _ name: String, kind: SpanKind, context: ServiceContext, _ body: () async throws -> Result, describe: (inout SpanAttributes) -> Void
    ) async throws -> Result {
        try await withSpan(name, context: context, ofKind: kind) { span in
            span.updateAttributes(describe)
            span.attributes["rpc.system"] = "grpc"
            do {
                return try await body()
            } catch {
                span.setStatus(SpanStatus(code: .error, message: "\(error)"))
                throw error
            }
        }
    }

    /// Runs `body` in a span named `name` (an element's, made once per chain), as a child of
    /// the current span, when element spans are on; a nested chain has none of its own.
    static func element<Result: Sendable>(_ name: String?, _ body: () async throws -> Result) async throws -> Result {
        guard let name, isOn, elements.load(ordering: .relaxed) else { return try await body() }
        return try await withSpan(name, ofKind: .internal) { _ in try await body() }
    }
}
