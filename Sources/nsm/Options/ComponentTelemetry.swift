import ArgumentParser
import Foundation
import Logging
import NSMCore
import NSMTelemetry
import Readiness
import ServiceLifecycle
import Synchronization

/// A long-running component's metrics and HTTP health (docs/observability.md): when `PROMETHEUS`
/// or `NSM_PROMETHEUS` is on, swift-metrics records into the Prometheus registry and
/// ``TelemetryServer`` serves `/metrics`, `/healthz` and `/ready` on
/// `NSM_PROMETHEUS_IP`:`NSM_PROMETHEUS_PORT`. `/ready` answers 200 from ``markReady()`` on — the
/// point where the component also tells systemd it is ready. When `TELEMETRY` is on, spans of
/// every hop and chain element go over OTLP to `NSM_OPENTELEMETRY_ENDPOINT` (``MeshTracing``).
struct ComponentTelemetry: Sendable {
    /// For each component's `--help`.
    static let help = "Metrics (docs/observability.md): PROMETHEUS=true (upstream's switch) or NSM_PROMETHEUS=true serves /metrics, /healthz "
        + "and /ready in HTTP on NSM_PROMETHEUS_IP:NSM_PROMETHEUS_PORT (default 8081); NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT (5s) closes idle scrapes. "
        + "Traces: TELEMETRY=opentelemetry (upstream's switch; or true) exports spans over OTLP/gRPC to NSM_OPENTELEMETRY_ENDPOINT "
        + "(default \(TracingSettings.defaultEndpoint)); NSM_TRACE_ELEMENTS=true adds a span per chain element."

    let server: TelemetryServer?
    /// The span exporter, with tracing on.
    let tracing: (any Service)?
    private let ready = ReadyFlag()

    /// `name` names the component in its traces (`service.name`).
    init(logger: Logger, name: String) throws {
        let environment = ProcessInfo.processInfo.environment
        let settings: TelemetrySettings, tracingSettings: TracingSettings
        do {
            settings = try TelemetrySettings.fromEnvironment(environment)
            tracingSettings = try TracingSettings.fromEnvironment(environment)
        } catch {
            throw ValidationError(error.description)
        }
        if tracingSettings.enabled {
            tracing = try MeshTracing.bootstrap(tracingSettings, serviceName: name, logger: logger)
            ChainTracing.switchOn(elements: tracingSettings.elements)
            logger.info("tracing on", metadata: ["endpoint": "\(tracingSettings.endpointURL)", "service.name": "\(name)"])
        } else {
            tracing = nil
        }
        guard settings.prometheus else {
            server = nil
            return
        }
        MeshMetrics.bootstrap()
        server = TelemetryServer(settings: settings, isReady: { [ready] in ready.value }, logger: logger)
    }

    /// The component's `services` with telemetry's around them: the span exporter first (a
    /// group stops its services in reverse order, so it flushes the last spans after the
    /// component stopped), the metrics server last.
    func around(_ services: [any Service]) -> [any Service] {
        (tracing.map { [$0] } ?? []) + services + (server.map { [$0] } ?? [])
    }

    /// Prints where metrics are served, once the server listens (tests and operators read it).
    func announce() async throws {
        guard let server else { return }
        printFlushed("metrics on http://\(server.settings.host):\(try await server.listening.wait())/metrics")
    }

    func markReady() { ready.value = true }
}

/// A flag the `/ready` handler reads.
final class ReadyFlag: Sendable {
    private let state = Mutex(false)
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
