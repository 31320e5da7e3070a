import Logging
import Synchronization

/// The proxy's view of its upstreams' health (``UpstreamHealth``): timeouts counted when a query
/// concludes without an upstream's answer, and the down/up transitions logged and shown in the metrics.
extension ProxyCore {
    /// Every upstream the query still waited for when it concluded missed it: counted as a
    /// timeout, in the metrics and in its health.
    func countTimeouts(_ entry: PendingQuery) {
        let silent = entry.state.pendingUpstreams
        metricsBox.withLock { metrics in
            for index in silent { metrics.upstreams[entry.state.upstreams[index].endpoint, default: .init()].timeouts += 1 }
        }
        for index in silent where entry.upstreamIndices[index] < upstreams.count && health.timedOut(entry.upstreamIndices[index]) {
            markHealth(entry.upstreamIndices[index], down: true)
        }
    }

    func markHealth(_ upstream: Int, down: Bool) {
        let endpoint = upstreamEndpoints[upstream]
        metricsBox.withLock { metrics in
            if down { metrics.downUpstreams.insert(endpoint) } else { metrics.downUpstreams.remove(endpoint) }
        }
        if down {
            logger.warning("DNS upstream is not answering; queries no longer wait for it until it answers again",
                           metadata: ["upstream": "\(endpoint)", "timeouts": "\(UpstreamHealth.downAfter)"])
        } else {
            logger.info("DNS upstream answers again", metadata: ["upstream": "\(endpoint)"])
        }
    }
}
