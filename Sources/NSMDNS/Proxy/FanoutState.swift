/// What one fanned-out query has heard from its upstreams, and whether that is enough to answer.
///
/// The rule: the first positive answer (NOERROR with records) wins at once. Negative answers
/// (NXDOMAIN, NODATA) are kept until every upstream has spoken; then the best negative is
/// returned — NODATA over NXDOMAIN (the name exists somewhere), an upstream scoped to the
/// name over a catch-all one, then the earliest. Failures (SERVFAIL, REFUSED, …) and silence
/// are not answers: only when nobody answered does the client get SERVFAIL. Upstreams that are
/// down (``UpstreamHealth``) are asked but not waited for: once every awaited one has spoken, the
/// query concludes.
struct FanoutState {
    enum Outcome: Equatable {
        case wait
        /// Send this upstream response on (index into the upstreams asked).
        case forward(upstream: Int)
        case servFail
    }

    let upstreams: [DNSUpstream]
    private(set) var replied: [Bool]
    /// Per upstream: whether the query waits for it (false for one that is down).
    let awaited: [Bool]
    private var negatives: [(upstream: Int, nodata: Bool)] = []
    private(set) var failures = 0

    init(upstreams: [DNSUpstream], awaited: [Bool]? = nil) {
        self.upstreams = upstreams
        self.replied = Array(repeating: false, count: upstreams.count)
        self.awaited = awaited ?? Array(repeating: true, count: upstreams.count)
    }

    /// Every awaited upstream has spoken.
    private var isSettled: Bool { replied.indices.allSatisfy { replied[$0] || !awaited[$0] } }

    /// Whether a negative answer is at hand (to conclude with when the wait for the rest runs out).
    var hasNegative: Bool { !negatives.isEmpty }

    var pendingUpstreams: [Int] { replied.indices.filter { !replied[$0] } }

    /// Records the response of upstream `index` by its facts: positive (NOERROR with records),
    /// negative (NXDOMAIN or NODATA), and whether its rcode is NOERROR (NODATA, for a negative).
    /// A second response from the same upstream is ignored.
    mutating func record(upstream index: Int, positive: Bool, negative: Bool, noError: Bool) -> Outcome {
        guard replied.indices.contains(index), !replied[index] else { return .wait }
        replied[index] = true
        if positive { return .forward(upstream: index) }
        if negative {
            negatives.append((index, noError))
        } else {
            failures += 1
        }
        return isSettled ? conclusion() : .wait
    }

    /// Upstream `index` could not be asked or answered garbage.
    mutating func fail(upstream index: Int) -> Outcome {
        guard replied.indices.contains(index), !replied[index] else { return .wait }
        replied[index] = true
        failures += 1
        return isSettled ? conclusion() : .wait
    }

    /// The budget is spent: the best negative heard so far, or SERVFAIL.
    func conclusion() -> Outcome {
        let best = negatives.enumerated().min { lhs, rhs in
            let l = lhs.element, r = rhs.element
            if l.nodata != r.nodata { return l.nodata }
            let lScoped = upstreams[l.upstream].isScoped, rScoped = upstreams[r.upstream].isScoped
            if lScoped != rScoped { return lScoped }
            return lhs.offset < rhs.offset
        }
        return best.map { .forward(upstream: $0.element.upstream) } ?? .servFail
    }
}
