import ArgumentParser
import NSMRuntime

/// Upstream's data-path liveness settings (cmd-nsc): `NSM_LIVENESS_CHECK_ENABLED` (default true),
/// `NSM_LIVENESS_CHECK_INTERVAL` (200ms), `NSM_LIVENESS_CHECK_TIMEOUT` (1s).
struct LivenessOptions: ParsableArguments {
    @Option(help: "Watch each connection's data path with ICMP echo to its endpoint (NSM_LIVENESS_CHECK_ENABLED).")
    var livenessCheckEnabled: Bool = Environment.bool("NSM_LIVENESS_CHECK_ENABLED") ?? true

    @Option(help: "Time between echoes (NSM_LIVENESS_CHECK_INTERVAL).")
    var livenessCheckInterval: String = Environment.string("NSM_LIVENESS_CHECK_INTERVAL") ?? "200ms"

    @Option(help: "Silence after which a connection is requested again, then healed (NSM_LIVENESS_CHECK_TIMEOUT).")
    var livenessCheckTimeout: String = Environment.string("NSM_LIVENESS_CHECK_TIMEOUT") ?? "1s"

    func validate() throws {
        try Environment.checkBools(["NSM_LIVENESS_CHECK_ENABLED"])
        _ = try check()
    }

    /// The check, or nil when switched off.
    func check() throws -> LivenessCheck? {
        guard livenessCheckEnabled else { return nil }
        let interval = try Environment.duration(livenessCheckInterval, flag: "liveness-check-interval", variable: "NSM_LIVENESS_CHECK_INTERVAL")
        let timeout = try Environment.duration(livenessCheckTimeout, flag: "liveness-check-timeout", variable: "NSM_LIVENESS_CHECK_TIMEOUT")
        guard interval > .zero, timeout > interval else {
            throw ValidationError("NSM_LIVENESS_CHECK_INTERVAL (\(livenessCheckInterval)) must be above zero and below NSM_LIVENESS_CHECK_TIMEOUT (\(livenessCheckTimeout))")
        }
        return LivenessCheck(interval: interval, timeout: timeout)
    }
}
