import ArgumentParser
import Foundation
import Logging
import NSMTelemetry
import Readiness
import ServiceLifecycle
import Synchronization

/// A long-running component's metrics and HTTP health (docs/observability.md): when `PROMETHEUS`
/// or `NSM_PROMETHEUS` is on, swift-metrics records into the Prometheus registry and
/// ``TelemetryServer`` serves `/metrics`, `/healthz` and `/ready` on
/// `NSM_PROMETHEUS_IP`:`NSM_PROMETHEUS_PORT`. `/ready` answers 200 from ``markReady()`` on — the
/// point where the component also tells systemd it is ready.
struct ComponentTelemetry: Sendable {
    /// For each component's `--help`.
    static let help = "Metrics (docs/observability.md): PROMETHEUS=true (upstream's switch) or NSM_PROMETHEUS=true serves /metrics, /healthz "
        + "and /ready in HTTP on NSM_PROMETHEUS_IP:NSM_PROMETHEUS_PORT (default 8081); NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT (5s) closes idle scrapes."

    let server: TelemetryServer?
    private let ready = ReadyFlag()

    init(logger: Logger) throws {
        let settings: TelemetrySettings
        do { settings = try TelemetrySettings.fromEnvironment(ProcessInfo.processInfo.environment) } catch {
            throw ValidationError(error.description)
        }
        guard settings.prometheus else {
            server = nil
            return
        }
        MeshMetrics.bootstrap()
        server = TelemetryServer(settings: settings, isReady: { [ready] in ready.value }, logger: logger)
    }

    var services: [any Service] { server.map { [$0] } ?? [] }

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
