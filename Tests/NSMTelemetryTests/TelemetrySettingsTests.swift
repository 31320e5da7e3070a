@testable import NSMTelemetry
import Testing

@Suite("Telemetry settings from the environment (upstream's names)")
struct TelemetrySettingsTests {
    @Test("off unless PROMETHEUS or NSM_PROMETHEUS says so; port 8081 on all addresses by default")
    func defaults() throws {
        let off = try TelemetrySettings.fromEnvironment([:])
        #expect(!off.prometheus && off.port == 8081 && off.host == "0.0.0.0" && off.headerTimeout == .seconds(5))
        for value in ["1", "t", "T", "TRUE", "true", "True"] {
            #expect(try TelemetrySettings.fromEnvironment(["PROMETHEUS": value]).prometheus, "\(value)")
            #expect(try TelemetrySettings.fromEnvironment(["NSM_PROMETHEUS": value]).prometheus, "\(value)")
        }
        for value in ["0", "f", "F", "FALSE", "false", "False"] {
            #expect(try !TelemetrySettings.fromEnvironment(["PROMETHEUS": value]).prometheus, "\(value)")
        }
        #expect(try TelemetrySettings.fromEnvironment(["PROMETHEUS": "false", "NSM_PROMETHEUS": "true"]).prometheus)
    }

    @Test("address, port and header timeout")
    func place() throws {
        let settings = try TelemetrySettings.fromEnvironment([
            "PROMETHEUS": "true", "NSM_PROMETHEUS_IP": "127.0.0.1", "NSM_PROMETHEUS_PORT": "9090", "NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT": "1m30s",
        ])
        #expect(settings == TelemetrySettings(prometheus: true, host: "127.0.0.1", port: 9090, headerTimeout: .seconds(90)))
        #expect(TelemetrySettings.parseDuration("250ms") == .milliseconds(250))
        #expect(TelemetrySettings.parseDuration("1.5s") == .milliseconds(1500))
    }

    @Test("a value that cannot be read names the variable, the value and what is accepted")
    func invalid() {
        let cases: [([String: String], String)] = [
            (["PROMETHEUS": "yes"], "PROMETHEUS=yes is not a boolean; accepted: 1, t"),
            (["NSM_PROMETHEUS_PORT": "80a"], "NSM_PROMETHEUS_PORT=80a is not a port; accepted: 0-65535"),
            (["NSM_PROMETHEUS_PORT": "70000"], "NSM_PROMETHEUS_PORT=70000 is not a port"),
            (["NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT": "5"], "NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT=5 is not a duration; accepted: Go durations"),
            (["NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT": "0s"], "is not a duration"),
        ]
        for (environment, message) in cases {
            #expect {
                try TelemetrySettings.fromEnvironment(environment)
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }
}
