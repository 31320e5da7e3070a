public import Logging
import OTel
public import ServiceLifecycle
import Tracing

/// The process's tracer: spans exported over OTLP/gRPC with swift-otel, batched (every 5 s, or
/// `OTEL_BSP_SCHEDULE_DELAY` milliseconds; the standard `OTEL_*` variables apply on top), and
/// flushed when the returned service shuts down gracefully. Metrics stay with Prometheus
/// (``MeshMetrics``), logs with swift-log.
public enum MeshTracing {
    /// Bootstraps the tracer for `serviceName` (the component: `nsmgr-node0`, `nse-foo`) once per
    /// process; run the returned service beside the component.
    public static func bootstrap(_ settings: TracingSettings, serviceName: String, logger: Logger) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .grpc
        configuration.traces.otlpExporter.endpoint = settings.endpointURL
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        return service
    }
}
