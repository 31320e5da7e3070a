@testable import NSMTelemetry
import Testing

@Suite("Tracing settings from the environment (upstream's names)")
struct TracingSettingsTests {
    @Test("off unless TELEMETRY says so; upstream's collector address by default")
    func defaults() throws {
        let off = try TracingSettings.fromEnvironment([:])
        #expect(!off.enabled && off.endpoint == "otel-collector.observability.svc.cluster.local:4317")
        #expect(off.endpointURL == "http://otel-collector.observability.svc.cluster.local:4317")
        for value in ["opentelemetry", "OpenTelemetry", "1", "t", "true", "True", "TRUE"] {
            #expect(try TracingSettings.fromEnvironment(["TELEMETRY": value]).enabled, "\(value)")
        }
        for value in ["0", "f", "false", "False", ""] {
            #expect(try !TracingSettings.fromEnvironment(["TELEMETRY": value]).enabled, "\(value)")
        }
        // Hops only unless element spans are asked for.
        #expect(try !TracingSettings.fromEnvironment(["TELEMETRY": "opentelemetry"]).elements)
        #expect(try TracingSettings.fromEnvironment(["TELEMETRY": "opentelemetry", "NSM_TRACE_ELEMENTS": "true"]).elements)
    }

    @Test("the collector as host:port (plaintext, as upstream dials it) or as a URL")
    func endpoint() throws {
        #expect(try TracingSettings.fromEnvironment(["NSM_OPENTELEMETRY_ENDPOINT": "127.0.0.1:4317"]).endpointURL == "http://127.0.0.1:4317")
        #expect(try TracingSettings.fromEnvironment(["NSM_OPENTELEMETRY_ENDPOINT": "[fd00::1]:4317"]).endpointURL == "http://[fd00::1]:4317")
        #expect(try TracingSettings.fromEnvironment(["NSM_OPENTELEMETRY_ENDPOINT": "https://otel.example:4317"]).endpointURL == "https://otel.example:4317")
    }

    @Test("a value that cannot be read names the variable, the value and what is accepted")
    func refused() {
        for (name, value, words) in [
            ("TELEMETRY", "jaeger", "accepted: opentelemetry, or a boolean"),
            ("NSM_TRACE_ELEMENTS", "all", "is not a boolean"),
            ("NSM_OPENTELEMETRY_ENDPOINT", "otel-collector", "accepted: host:port"),
            ("NSM_OPENTELEMETRY_ENDPOINT", "otel:99999", "accepted: host:port"),
            ("NSM_OPENTELEMETRY_ENDPOINT", ":4317", "accepted: host:port"),
        ] {
            #expect { try TracingSettings.fromEnvironment([name: value]) } throws: { error in
                let text = (error as? TelemetrySettings.Invalid)?.description ?? ""
                return text.contains("\(name)=\(value)") && text.contains(words)
            }
        }
    }
}
