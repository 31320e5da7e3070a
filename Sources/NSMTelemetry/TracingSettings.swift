/// Whether and where a component exports its traces, from the environment as upstream's
/// components read it: `TELEMETRY` switches OpenTelemetry on — upstream's sdk sets it to
/// `opentelemetry`; Go's `strconv.ParseBool` values are taken too — and
/// `NSM_OPENTELEMETRY_ENDPOINT` is the collector's OTLP/gRPC address, `host:port` as upstream
/// writes it (plaintext, as upstream dials it) or a URL (`http://…`, `https://…`).
/// `NSM_TRACE_ELEMENTS` (a boolean, default off) adds a span per chain element to the hops'.
public struct TracingSettings: Sendable, Equatable {
    public var enabled: Bool
    public var endpoint: String
    public var elements: Bool

    public static let defaultEndpoint = "otel-collector.observability.svc.cluster.local:4317"

    public init(enabled: Bool = false, endpoint: String = defaultEndpoint, elements: Bool = false) {
        self.enabled = enabled
        self.endpoint = endpoint
        self.elements = elements
    }

    /// Reads the settings from `environment`; a value that cannot be read is an error naming the
    /// variable, the value and what is accepted.
    public static func fromEnvironment(_ environment: [String: String]) throws(TelemetrySettings.Invalid) -> TracingSettings {
        var settings = TracingSettings()
        if let text = environment["TELEMETRY"], !text.isEmpty {
            if text.lowercased() == "opentelemetry" {
                settings.enabled = true
            } else if let value = TelemetrySettings.parseBool(text) {
                settings.enabled = value
            } else {
                throw TelemetrySettings.Invalid(description: "TELEMETRY=\(text) is not understood; accepted: opentelemetry, or a boolean (1, t, true, True, TRUE, 0, f, false, …)")
            }
        }
        if let text = environment["NSM_TRACE_ELEMENTS"], !text.isEmpty {
            guard let value = TelemetrySettings.parseBool(text) else {
                throw TelemetrySettings.Invalid(description: "NSM_TRACE_ELEMENTS=\(text) is not a boolean; accepted: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False")
            }
            settings.elements = value
        }
        if let text = environment["NSM_OPENTELEMETRY_ENDPOINT"], !text.isEmpty {
            guard Self.url(for: text) != nil else {
                throw TelemetrySettings.Invalid(description: "NSM_OPENTELEMETRY_ENDPOINT=\(text) is not an address; accepted: host:port, or http://host:port")
            }
            settings.endpoint = text
        }
        return settings
    }

    /// The endpoint as the exporter takes it: a URL, `http://` added to a bare `host:port`.
    public var endpointURL: String { Self.url(for: endpoint) ?? endpoint }

    static func url(for text: String) -> String? {
        if text.hasPrefix("http://") || text.hasPrefix("https://") { return text }
        guard !text.contains("/"), let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port), colon != text.startIndex
        else { return nil }
        return "http://" + text
    }
}
