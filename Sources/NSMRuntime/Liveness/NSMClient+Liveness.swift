import IPAddressing
import Logging
import Metrics
import NSMAPI
import ServiceLifecycle
import Synchronization

/// The data path watched: see ``LivenessCheck``.
extension NSMClient {
    private struct Watched {
        let probe: EchoProbe
        var lastReply: ContinuousClock.Instant
        /// Timeouts in a row: the first re-requests the same path, the next reselects.
        var strikes = 0
        /// Whether this connection's endpoint address ever answered (this one, or the one before
        /// a heal moved it): one that never did (an endpoint that drops ICMP) is not healed for
        /// its silence, or the pod would be moved around forever.
        var answered = false
        /// When each outstanding probe was sent, by sequence number.
        var sentAt: [UInt16: ContinuousClock.Instant] = [:]
    }

    /// Probes every held connection's endpoint address until the client stops; heals the ones
    /// whose data path stopped answering. Runs in ``run()``'s task group.
    func watchDataPaths(_ check: LivenessCheck) async {
        var watched: [String: Watched] = [:]
        var unprobeable: [String: IPAddress] = [:]
        // Connections whose data path is watched, and those of them that answered within the timeout.
        let watchedGauge = Gauge(label: "nsm_liveness_watched_connections")
        let answeringGauge = Gauge(label: "nsm_liveness_answering_connections")
        await withDiscardingTaskGroup { heals in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let now = ContinuousClock.now
                let held = state.withLock { $0.connections }
                var current: Set<String> = []
                for (index, connection) in held {
                    let id = ids[index]
                    guard let target = Self.endpointAddress(of: connection) else { continue }
                    current.insert(id)
                    if watched[id]?.probe.target == target || unprobeable[id] == target { continue }
                    do {
                        // A connection whose earlier endpoint answered stays watched on its new one:
                        // a path that never works after a heal is healed again, not left dark.
                        watched[id] = Watched(
                            probe: try EchoProbe(target: target, namespace: pool.passingNamespace), lastReply: now, answered: watched[id]?.answered ?? false)
                    } catch {
                        // Said once per target: the connection is still served, only not watched.
                        unprobeable[id] = target
                        watched[id] = nil
                        logger.warning("data path not watched", metadata: ["nsm.connection.id": "\(id)", "reason": "\(error)"])
                    }
                }
                for id in watched.keys where !current.contains(id) { watched[id] = nil }
                defer { state.withLock { $0.answering = Set(watched.filter { $0.value.answered }.keys) } }
                for (id, var entry) in watched {
                    let replies = entry.probe.replies()
                    if !replies.isEmpty {
                        if let newest = replies.compactMap({ entry.sentAt[$0] }).max() {
                            state.withLock { $0.answeredProbeSent[id] = newest }
                        }
                        entry.lastReply = now
                        entry.strikes = 0
                        entry.answered = true
                    } else if entry.answered, now - entry.lastReply > check.timeout, state.withLock({ $0.livenessHealing.insert(id).inserted }) {
                        entry.strikes += 1
                        entry.lastReply = now  // the heal gets a full timeout before the next strike
                        let reselect = entry.strikes > 1
                        logger.warning("data path silent", metadata: [
                            "nsm.connection.id": "\(id)", "endpoint.address": "\(entry.probe.target)", "silent.for": "\(check.timeout)",
                            "action": "\(reselect ? "reselect" : "request again")",
                        ])
                        let cause = "no echo reply from \(entry.probe.target) for \(check.timeout)"
                        heals.addTask { [self] in
                            defer { state.withLock { _ = $0.livenessHealing.remove(id) } }
                            await renew(id, heal: reselect, cause: cause, unlessAnswering: true, why: .dataPath)
                        }
                    }
                    if let sequence = entry.probe.send() {
                        entry.sentAt[sequence] = ContinuousClock.now
                        entry.sentAt[sequence &- 64] = nil
                    }
                    watched[id] = entry
                }
                watchedGauge.record(watched.count)
                answeringGauge.record(watched.values.filter { $0.answered && now - $0.lastReply <= check.timeout && $0.strikes == 0 }.count)
                try? await Task.sleep(for: check.interval)
            }
        }
    }

    /// Whether connection `id`'s data path answers a probe sent after `since`, waiting up to two
    /// probe intervals for one; nil when its data path is not watched (no liveness check, or its
    /// address never answered). A heal asks this first: a path the control plane lost while its
    /// data path answers (a manager or forwarder restarting) is requested again as it is.
    public func dataPathAnswers(_ id: String, since: ContinuousClock.Instant) async -> Bool? {
        guard let check = configuration.liveness, state.withLock({ $0.answering.contains(id) }) else { return nil }
        let deadline = since + check.interval * 2 + .milliseconds(50)
        while true {
            if let sent = state.withLock({ $0.answeredProbeSent[id] }), sent > since { return true }
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Whether connection `id`'s data path answered a probe sent within the last timeout; nil
    /// when it is not watched.
    func dataPathAlive(_ id: String) -> Bool? {
        guard let check = configuration.liveness else { return nil }
        return state.withLock { state -> Bool? in
            guard state.answering.contains(id) else { return nil }
            guard let sent = state.answeredProbeSent[id] else { return false }
            return ContinuousClock.now - sent <= check.timeout
        }
    }

    /// The endpoint's address on the connection's link (its `dst_ip_addrs`), if it has one.
    static func endpointAddress(of connection: Connection_Connection) -> IPAddress? {
        guard let first = connection.context.ipContext.dstIpAddrs.first else { return nil }
        return IPAddress(first.split(separator: "/").first ?? "")
    }
}
