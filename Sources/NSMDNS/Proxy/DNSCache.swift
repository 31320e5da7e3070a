import NIOCore

/// What a cached answer is filed under: the question (case-insensitive) and whether the
/// asker spoke EDNS / wanted DNSSEC records (an answer with OPT must not go to a client
/// that sent none, RFC 6891 §7).
struct DNSCacheKey: Hashable {
    var name: [UInt8]
    var type: UInt16
    var dnsClass: UInt16
    var edns: Bool
    var dnssecOK: Bool

    init(_ view: DNSQueryView) {
        name = view.canonicalName
        type = view.type
        dnsClass = view.dnsClass
        edns = view.hasEDNS
        dnssecOK = view.dnssecOK
    }

    func hash(into hasher: inout Hasher) {
        name.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(UInt32(type) << 16 | UInt32(dnsClass))
        hasher.combine(edns)
        hasher.combine(dnssecOK)
    }

    init(_ query: DNSMessage) {
        let question = query.questions[0]
        name = question.name.canonicalWire
        type = question.type.rawValue
        dnsClass = question.dnsClass.rawValue
        let edns = query.edns
        self.edns = edns != nil
        dnssecOK = edns?.dnssecOK ?? false
    }
}

/// Answers kept by TTL: positive ones for their smallest record TTL (capped), negative ones
/// for the SOA's negative TTL (RFC 2308, capped low) and in a smaller, separate budget so a
/// flood of unknown names cannot push out the good answers. Oldest entries go first.
/// Not thread-safe: owned by the proxy's event loop.
final class DNSCache {
    struct Entry {
        var bytes: [UInt8]
        var ttls: [(offset: Int, ttl: UInt32)]
        var storedAt: UInt64
        var expiresAt: UInt64
        var negative: Bool
    }

    let capacity: Int
    let negativeCapacity: Int
    let maximumTTL: UInt32
    let maximumNegativeTTL: UInt32
    private var entries: [DNSCacheKey: Entry] = [:]
    private var order = CircularBuffer<DNSCacheKey>()
    private var negativeOrder = CircularBuffer<DNSCacheKey>()
    private(set) var positiveCount = 0
    private(set) var negativeCount = 0

    init(capacity: Int = 10_000, negativeCapacity: Int = 1_000, maximumTTL: UInt32 = 86_400, maximumNegativeTTL: UInt32 = 60) {
        self.capacity = capacity
        self.negativeCapacity = negativeCapacity
        self.maximumTTL = maximumTTL
        self.maximumNegativeTTL = maximumNegativeTTL
    }

    var count: Int { entries.count }

    /// Forgets everything (the upstreams changed: an answer may come from one that is gone).
    func removeAll() {
        entries = [:]
        order = CircularBuffer()
        negativeOrder = CircularBuffer()
        positiveCount = 0
        negativeCount = 0
    }

    /// The cached answer for `query` with its id, question spelling and TTLs made current, or nil.
    func answer(_ query: DNSMessage, queryBytes: [UInt8], key: DNSCacheKey, now: UInt64) -> [UInt8]? {
        answer(nameLength: query.questions[0].name.wire.count, queryBytes: queryBytes, key: key, now: now)
    }

    /// The same, for a query known by its bytes and the length of its question name.
    func answer(nameLength: Int, queryBytes: [UInt8], key: DNSCacheKey, now: UInt64) -> [UInt8]? {
        guard let entry = entries[key] else { return nil }
        guard now < entry.expiresAt else {
            remove(key)
            return nil
        }
        var bytes = entry.bytes
        bytes[0] = queryBytes[0]
        bytes[1] = queryBytes[1]
        // Echo the question as the client spelled it (same length: same name, other case).
        if bytes.count >= 12 + nameLength, queryBytes.count >= 12 + nameLength {
            bytes.replaceSubrange(12..<(12 + nameLength), with: queryBytes[12..<(12 + nameLength)])
        }
        let elapsed = UInt32(min((now - entry.storedAt) / 1_000_000_000, UInt64(UInt32.max)))
        for (offset, ttl) in entry.ttls {
            let current = ttl > elapsed ? ttl - elapsed : 0
            bytes[offset] = UInt8(current >> 24)
            bytes[offset + 1] = UInt8((current >> 16) & 0xff)
            bytes[offset + 2] = UInt8((current >> 8) & 0xff)
            bytes[offset + 3] = UInt8(current & 0xff)
        }
        return bytes
    }

    /// Keeps `response` (as `bytes`) if it is cacheable: positive with a TTL, or negative with an SOA.
    func store(_ response: DNSMessage, bytes: [UInt8], key: DNSCacheKey, now: UInt64) {
        let records = response.answers + response.authorities + response.additionals.filter { $0.type != .opt }
        var soa: (ttl: UInt32, minimum: UInt32)?
        if let record = response.authorities.first(where: { $0.type == .soa }), case .soa(let fields) = record.data {
            soa = (record.ttl, fields.minimum)
        }
        store(bytes, truncated: response.header.isTruncated, positive: response.isPositive, negative: response.isNegative,
              minimumAnswerTTL: response.answers.map(\.ttl).min(), soa: soa,
              ttls: records.compactMap { record in record.ttlOffset.map { ($0, record.ttl) } }, key: key, now: now)
    }

    /// The same, for an answer read in place.
    func store(_ response: DNSResponseView, bytes: [UInt8], key: DNSCacheKey, now: UInt64) {
        store(bytes, truncated: response.isTruncated, positive: response.isPositive, negative: response.isNegative,
              minimumAnswerTTL: response.minimumAnswerTTL, soa: response.soa, ttls: response.ttls, key: key, now: now)
    }

    private func store(_ bytes: [UInt8], truncated: Bool, positive: Bool, negative isNegative: Bool, minimumAnswerTTL: UInt32?,
                       soa: (ttl: UInt32, minimum: UInt32)?, ttls: [(offset: Int, ttl: UInt32)], key: DNSCacheKey, now: UInt64) {
        guard !truncated else { return }
        let ttl: UInt32
        let negative: Bool
        if positive {
            ttl = min(minimumAnswerTTL ?? 0, maximumTTL)
            negative = false
        } else if isNegative, let soa {
            ttl = min(soa.ttl, soa.minimum, maximumNegativeTTL)
            negative = true
        } else {
            return
        }
        guard ttl > 0 else { return }
        if entries[key] == nil {
            if negative {
                negativeOrder.append(key)
                negativeCount += 1
            } else {
                order.append(key)
                positiveCount += 1
            }
        } else if entries[key]!.negative != negative {
            // Kind changed: drop and re-add so the counts and queues stay right.
            remove(key)
            return store(bytes, truncated: truncated, positive: positive, negative: isNegative, minimumAnswerTTL: minimumAnswerTTL,
                         soa: soa, ttls: ttls, key: key, now: now)
        }
        entries[key] = Entry(bytes: bytes, ttls: ttls, storedAt: now, expiresAt: now + UInt64(ttl) * 1_000_000_000, negative: negative)
        while positiveCount > capacity, let oldest = order.popFirst() { dropIfPresent(oldest, negative: false) }
        while negativeCount > negativeCapacity, let oldest = negativeOrder.popFirst() { dropIfPresent(oldest, negative: true) }
    }

    private func dropIfPresent(_ key: DNSCacheKey, negative: Bool) {
        guard let entry = entries[key], entry.negative == negative else { return }
        entries[key] = nil
        if negative { negativeCount -= 1 } else { positiveCount -= 1 }
    }

    private func remove(_ key: DNSCacheKey) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        if entry.negative {
            negativeCount -= 1
            if let index = negativeOrder.firstIndex(of: key) { negativeOrder.remove(at: index) }
        } else {
            positiveCount -= 1
            if let index = order.firstIndex(of: key) { order.remove(at: index) }
        }
    }
}
