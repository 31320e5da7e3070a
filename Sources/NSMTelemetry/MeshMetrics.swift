public import CoreMetrics
public import Prometheus
import Synchronization

/// The process's metrics backend: swift-metrics bootstrapped once with swift-prometheus's
/// factory, whose registry `/metrics` renders. Library code (chain elements, the DNS proxy, the
/// data plane) records through swift-metrics alone; without ``bootstrap()`` those calls go to
/// swift-metrics' no-op backend.
public enum MeshMetrics {
    /// What `/metrics` renders.
    public static let registry = PrometheusCollectorRegistry()

    /// Request durations: buckets that resolve the mesh's 1–3 ms hops and still see a 10 s one.
    public static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(3), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    private static let bootstrapped = Mutex(false)

    /// Makes swift-metrics record into ``registry`` (once per process; later calls do nothing).
    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        MetricsSystem.bootstrap(factory)
    }

    private static let sources = Mutex<[@Sendable () -> String]>([])

    /// Adds metrics rendered at each scrape from a component's own counters (the DNS proxy keeps
    /// its counters on its thread and is read, not instrumented): `render` returns exposition
    /// text (families with their `# TYPE` lines), appended after the registry's.
    public static func addSource(_ render: @escaping @Sendable () -> String) {
        sources.withLock { $0.append(render) }
    }

    /// The registry's text exposition (format 0.0.4), process metrics refreshed first, then the
    /// added sources.
    public static func exposition() -> [UInt8] {
        ProcessMetrics.shared.refresh()
        var bytes = registry.emitToBuffer()
        for render in sources.withLock({ $0 }) { bytes += Array(render().utf8) }
        return bytes
    }
}
