import NSMDNS
import NSMTelemetry

/// The DNS proxy's counters (kept on its own thread, read at each scrape) in Prometheus' text
/// format: queries by transport, answers by rcode, cache hits, loops, TCP retries, and per upstream
/// (`IP:PORT`) its answers by outcome, timeouts, whether it is down, and its answer latency.
enum DNSMetricsExposition {
    /// Adds `proxy`'s metrics to every scrape.
    static func register(_ proxy: DNSProxy) {
        MeshMetrics.addSource { render(proxy.metrics) }
    }

    static func render(_ metrics: DNSProxyMetrics) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { text += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        family("nsm_dns_queries_total", "counter", "Queries received, by transport.",
               [("{transport=\"udp\"}", "\(metrics.udpQueries)"), ("{transport=\"tcp\"}", "\(metrics.tcpQueries)")])
        family("nsm_dns_cache_hits_total", "counter", "Queries answered from the cache.", [("", "\(metrics.cacheHits)")])
        family("nsm_dns_answers_total", "counter", "Answers sent to clients, by rcode.",
               metrics.answers.sorted { $0.key < $1.key }.map { ("{rcode=\"\($0.key)\"}", "\($0.value)") })
        family("nsm_dns_loops_total", "counter", "Queries dropped as the proxy's own, looping back.", [("", "\(metrics.loopsDetected)")])
        family("nsm_dns_tcp_retries_total", "counter", "Truncated UDP answers asked again over TCP.", [("", "\(metrics.tcpRetries)")])
        let upstreams = metrics.upstreams.sorted { $0.key < $1.key }
        family("nsm_dns_upstream_answers_total", "counter", "Upstream answers, by outcome: positive, negative, and forwarded (the one the client got).",
               upstreams.flatMap { key, latency in
                   [("positive", latency.positive), ("negative", latency.negative), ("forwarded", latency.forwarded)]
                       .map { ("{upstream=\"\(key)\",outcome=\"\($0.0)\"}", "\($0.1)") }
               })
        family("nsm_dns_upstream_timeouts_total", "counter", "Queries an upstream did not answer in time.",
               upstreams.map { ("{upstream=\"\($0.key)\"}", "\($0.value.timeouts)") })
        family("nsm_dns_upstream_down", "gauge", "1 while the upstream is down (asked, not waited for).",
               upstreams.map { ("{upstream=\"\($0.key)\"}", metrics.downUpstreams.contains($0.key) ? "1" : "0") })
        var latency: [(labels: String, value: String)] = []
        for (key, upstream) in upstreams {
            var cumulative = 0
            for (index, bound) in DNSProxyMetrics.UpstreamLatency.bucketBounds.enumerated() {
                cumulative += upstream.buckets[index]
                latency.append(("_bucket{upstream=\"\(key)\",le=\"\(bound / 1000)\"}", "\(cumulative)"))
            }
            latency.append(("_bucket{upstream=\"\(key)\",le=\"+Inf\"}", "\(upstream.count)"))
            latency.append(("_sum{upstream=\"\(key)\"}", "\(upstream.totalMilliseconds / 1000)"))
            latency.append(("_count{upstream=\"\(key)\"}", "\(upstream.count)"))
        }
        text += "# HELP nsm_dns_upstream_duration_seconds Time from asking an upstream to its answer.\n# TYPE nsm_dns_upstream_duration_seconds histogram\n"
        for sample in latency { text += "nsm_dns_upstream_duration_seconds\(sample.labels) \(sample.value)\n" }
        return text
    }
}
