import IPAddressing
import Logging
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
        /// Whether this address ever answered: one that never did (an endpoint that drops ICMP)
        /// is not healed for its silence, or the pod would be moved around forever.
        var answered = false
    }

    /// Probes every held connection's endpoint address until the client stops; heals the ones
    /// whose data path stopped answering. Runs in ``run()``'s task group.
    func watchDataPaths(_ check: LivenessCheck) async {
        var watched: [String: Watched] = [:]
        var unprobeable: [String: IPAddress] = [:]
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
                        watched[id] = Watched(probe: try EchoProbe(target: target, namespace: pool.passingNamespace), lastReply: now)
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
                    if entry.probe.receivedReply() {
                        entry.lastReply = now
                        entry.strikes = 0
                        entry.answered = true
                    } else if entry.answered, now - entry.lastReply > check.timeout {
                        entry.strikes += 1
                        entry.lastReply = now  // the heal gets a full timeout before the next strike
                        let reselect = entry.strikes > 1
                        logger.warning("data path silent", metadata: [
                            "nsm.connection.id": "\(id)", "endpoint.address": "\(entry.probe.target)", "silent.for": "\(check.timeout)",
                            "action": "\(reselect ? "reselect" : "request again")",
                        ])
                        let cause = "no echo reply from \(entry.probe.target) for \(check.timeout)"
                        heals.addTask { [self] in await renew(id, heal: reselect, cause: cause) }
                    }
                    _ = entry.probe.send()
                    watched[id] = entry
                }
                try? await Task.sleep(for: check.interval)
            }
        }
    }

    /// The endpoint's address on the connection's link (its `dst_ip_addrs`), if it has one.
    static func endpointAddress(of connection: Connection_Connection) -> IPAddress? {
        guard let first = connection.context.ipContext.dstIpAddrs.first else { return nil }
        return IPAddress(first.split(separator: "/").first ?? "")
    }
}
