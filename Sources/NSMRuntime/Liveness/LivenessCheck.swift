/// The data-path liveness check of a client, as upstream's `NSM_LIVENESS_CHECK_ENABLED`,
/// `NSM_LIVENESS_CHECK_INTERVAL` and `NSM_LIVENESS_CHECK_TIMEOUT`: an ICMP echo to the endpoint's
/// address of each connection, from the pod's namespace, every `interval`; no reply for `timeout`
/// and the connection is requested again along its path, and if replies still do not come back,
/// healed with a new endpoint. An address that never answered is probed but not acted on (an
/// endpoint that drops ICMP would otherwise be left and reselected forever).
public struct LivenessCheck: Sendable, Equatable {
    public var interval: Duration
    public var timeout: Duration

    public init(interval: Duration = .milliseconds(200), timeout: Duration = .seconds(1)) {
        self.interval = interval
        self.timeout = timeout
    }
}
