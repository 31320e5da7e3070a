/// Counters of the proxy: queries by transport, answers by rcode and origin, upstream latency.
public struct DNSProxyMetrics: Sendable, Equatable {
    public var udpQueries = 0
    public var tcpQueries = 0
    public var cacheHits = 0
    /// Responses sent, by rcode name (NOERROR, NXDOMAIN, SERVFAIL, FORMERR, REFUSED, …).
    public var answers: [String: Int] {
        var result: [String: Int] = [:]
        for (code, count) in answersByRCode.enumerated() where count > 0 { result[DNSRCode(rawValue: UInt8(code)).description] = count }
        return result
    }
    var answersByRCode = Array(repeating: 0, count: 16)
    /// Queries dropped because they were our own, looping back.
    public var loopsDetected = 0
    /// UDP answers that came back truncated and were asked again over TCP.
    public var tcpRetries = 0
    public var upstreams: [String: UpstreamLatency] = [:]
    /// Upstreams (`IP:PORT`) that are down: asked, but not waited for (``UpstreamHealth``).
    public var downUpstreams: Set<String> = []

    public init() {}

    public var queries: Int { udpQueries + tcpQueries }

    /// Time to answer, per upstream (`IP:PORT`), in buckets of milliseconds.
    public struct UpstreamLatency: Sendable, Equatable {
        public static let bucketBounds: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]
        public var count = 0
        public var timeouts = 0
        /// Answers with records (NOERROR and at least one answer), negative answers (NXDOMAIN or
        /// NODATA), and the answers of this upstream the client got (the first positive wins).
        public var positive = 0
        public var negative = 0
        public var forwarded = 0
        public var totalMilliseconds = 0.0
        public var maximumMilliseconds = 0.0
        public var buckets = Array(repeating: 0, count: bucketBounds.count + 1)

        mutating func record(milliseconds: Double) {
            count += 1
            totalMilliseconds += milliseconds
            maximumMilliseconds = max(maximumMilliseconds, milliseconds)
            buckets[Self.bucketBounds.firstIndex { milliseconds <= $0 } ?? Self.bucketBounds.count] += 1
        }

        /// The bucket bound under which half the answers arrived.
        public var medianBoundMilliseconds: Double? {
            guard count > 0 else { return nil }
            var seen = 0
            for (index, value) in buckets.enumerated() {
                seen += value
                if seen * 2 >= count { return index < Self.bucketBounds.count ? Self.bucketBounds[index] : .infinity }
            }
            return nil
        }
    }

    /// One `key=value` per line: what `dig CH TXT metrics.nsm.` returns, and what `nsm dns proxy` logs on exit.
    public var lines: [String] {
        var lines = ["queries=\(queries)", "queries.udp=\(udpQueries)", "queries.tcp=\(tcpQueries)", "cache.hits=\(cacheHits)",
                     "loops=\(loopsDetected)", "tcp.retries=\(tcpRetries)"]
        let answers = self.answers
        lines += answers.keys.sorted().map { "answers.\($0)=\(answers[$0]!)" }
        for key in upstreams.keys.sorted() {
            let latency = upstreams[key]!
            let mean = latency.count > 0 ? latency.totalMilliseconds / Double(latency.count) : 0
            lines.append("upstream.\(key).answers=\(latency.count)")
            lines.append("upstream.\(key).timeouts=\(latency.timeouts)")
            lines.append("upstream.\(key).mean_ms=\(Int(mean))")
            lines.append("upstream.\(key).max_ms=\(Int(latency.maximumMilliseconds))")
            lines.append("upstream.\(key).down=\(downUpstreams.contains(key) ? 1 : 0)")
        }
        return lines
    }
}
