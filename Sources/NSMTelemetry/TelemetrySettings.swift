/// Whether and where a component serves its Prometheus metrics, from the environment as
/// upstream's components read it: `PROMETHEUS` (the sdk's switch, parsed as Go's
/// `strconv.ParseBool`) or `NSM_PROMETHEUS` (our spelling) switches it on; `NSM_PROMETHEUS_IP`
/// (default all addresses) and `NSM_PROMETHEUS_PORT` (8081) say where, as in cmd-forwarder-vpp;
/// `NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT` (5s) bounds how long a scraper may take to send its
/// request head.
public struct TelemetrySettings: Sendable, Equatable {
    public var prometheus: Bool
    public var host: String
    public var port: Int
    public var headerTimeout: Duration

    public static let defaultPort = 8081

    public init(prometheus: Bool = false, host: String = "0.0.0.0", port: Int = defaultPort, headerTimeout: Duration = .seconds(5)) {
        self.prometheus = prometheus
        self.host = host
        self.port = port
        self.headerTimeout = headerTimeout
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Reads the settings from `environment`; a value that cannot be read is an error naming the
    /// variable, the value and what is accepted (nothing is guessed).
    public static func fromEnvironment(_ environment: [String: String]) throws(Invalid) -> TelemetrySettings {
        var settings = TelemetrySettings()
        for name in ["PROMETHEUS", "NSM_PROMETHEUS"] {
            guard let text = environment[name], !text.isEmpty else { continue }
            guard let value = parseBool(text) else {
                throw Invalid(description: "\(name)=\(text) is not a boolean; accepted: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False")
            }
            settings.prometheus = settings.prometheus || value
        }
        if let host = environment["NSM_PROMETHEUS_IP"], !host.isEmpty { settings.host = host }
        if let text = environment["NSM_PROMETHEUS_PORT"], !text.isEmpty {
            guard let port = Int(text), (0...65535).contains(port) else {
                throw Invalid(description: "NSM_PROMETHEUS_PORT=\(text) is not a port; accepted: 0-65535 (0 picks a free one)")
            }
            settings.port = port
        }
        if let text = environment["NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT"], !text.isEmpty {
            guard let duration = parseDuration(text), duration > .zero else {
                throw Invalid(description: "NSM_PROMETHEUS_SERVER_HEADER_TIMEOUT=\(text) is not a duration; accepted: Go durations such as 5s, 500ms, 1m30s")
            }
            settings.headerTimeout = duration
        }
        return settings
    }

    /// Go's `strconv.ParseBool`.
    static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// A Go duration (`300ms`, `1.5s`, `1m30s`, `2h`) without sign.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(text), seconds = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, scale) = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
            rest = rest.dropFirst(unit.count)
            seconds += value * scale
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
