/// The facts the proxy needs from an upstream's answer, read in place without building a
/// ``DNSMessage``: flags and counts, the question (to match it against what was asked), every
/// record's TTL and where it sits (for the cache to count TTLs down), the SOA's negative TTL,
/// and where the OPT record is (to drop it for a client that sent none). Every read is bounds
/// checked; every name is walked to its end, following compression pointers only backwards (so a
/// loop or a pointer past the end makes the message unreadable, as it is to every client), the
/// names inside CNAME, NS, PTR, MX, SOA and SRV data included. Anything unusual — several questions, a compressed question name, an OPT record that is not
/// the last record — yields nil and the caller falls back to the full parser.
struct DNSResponseView {
    var flags: UInt16
    var answerCount: Int
    var question: DNSQuestionView
    /// Lower-cased wire form of the question name, with its type and class.
    var questionName: [UInt8] { question.canonicalName }
    var questionType: UInt16 { question.type }
    var questionClass: UInt16 { question.dnsClass }
    /// Offset and TTL of every record but the OPT.
    var ttls: [(offset: Int, ttl: UInt32)] = []
    /// The smallest TTL in the answer section.
    var minimumAnswerTTL: UInt32?
    /// The first SOA of the authority section: its TTL and its MINIMUM field (RFC 2308).
    var soa: (ttl: UInt32, minimum: UInt32)?
    /// The OPT record's bytes (always the message's tail here).
    var optRange: Range<Int>?

    var isResponse: Bool { flags & 0x8000 != 0 }
    var isTruncated: Bool { flags & 0x0200 != 0 }
    var rcode: UInt8 { UInt8(flags & 0x000f) }
    /// NOERROR with at least one answer record (as ``DNSMessage/isPositive``).
    var isPositive: Bool { rcode == 0 && answerCount > 0 }
    /// NXDOMAIN, or NOERROR without answers (as ``DNSMessage/isNegative``).
    var isNegative: Bool { rcode == 3 || (rcode == 0 && answerCount == 0) }

    init?(_ bytes: [UInt8]) {
        let count = bytes.count
        guard count >= 12 else { return nil }
        func u16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
        func u32(_ at: Int) -> UInt32 { UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3]) }
        flags = UInt16(u16(2))
        guard u16(4) == 1 else { return nil }
        answerCount = u16(6)
        let authorityCount = u16(8), additionalCount = u16(10)

        guard let question = DNSQuestionView(bytes) else { return nil }
        self.question = question
        var index = question.end

        // The records: name, type, class, TTL, data length, data.
        let total = answerCount + authorityCount + additionalCount
        ttls.reserveCapacity(total)
        for number in 0..<total {
            let start = index
            guard let nameEnd = Self.skipName(bytes, from: index), nameEnd + 10 <= count else { return nil }
            index = nameEnd
            let type = u16(index), ttl = u32(index + 4), length = u16(index + 8)
            let dataStart = index + 10
            guard dataStart + length <= count, Self.namesInData(bytes, type: type, from: dataStart, length: length) else { return nil }
            if type == 41 {
                // OPT: only in the additional section, only once, and last.
                guard number >= answerCount + authorityCount, optRange == nil, dataStart + length == count else { return nil }
                optRange = start..<count
            } else {
                ttls.append((index + 4, ttl))
                if number < answerCount {
                    minimumAnswerTTL = min(minimumAnswerTTL ?? ttl, ttl)
                } else if number < answerCount + authorityCount, type == 6, soa == nil {
                    // SOA data: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM.
                    guard let mname = Self.skipName(bytes, from: dataStart), let rname = Self.skipName(bytes, from: mname),
                          rname + 20 == dataStart + length else { return nil }
                    soa = (ttl, u32(rname + 16))
                }
            }
            index = dataStart + length
        }
        guard index == count else { return nil }
    }

    /// The offset after the name at `start` (its terminating zero, or its first compression
    /// pointer), or nil if the name runs past the end, is longer than 255 bytes, uses a reserved
    /// label type, or has a pointer that does not point before every byte of the name read so far.
    static func skipName(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start, length = 0, end: Int?
        var lowest = start
        while index < bytes.count {
            let label = Int(bytes[index])
            switch label & 0xc0 {
            case 0:
                if label == 0 { return end ?? index + 1 }
                length += label + 1
                guard length < 255 else { return nil }
                index += 1 + label
            case 0xc0:
                guard index + 1 < bytes.count else { return nil }
                let target = (label & 0x3f) << 8 | Int(bytes[index + 1])
                guard target < lowest else { return nil }
                if end == nil { end = index + 2 }
                lowest = target
                index = target
            default:
                return nil
            }
        }
        return nil
    }

    /// Whether the names inside a record's data (for the types that carry them) are well formed
    /// and fill the data exactly as the type lays it out.
    static func namesInData(_ bytes: [UInt8], type: Int, from start: Int, length: Int) -> Bool {
        let end = start + length
        switch type {
        case 2, 5, 12:  // NS, CNAME, PTR: one name
            return skipName(bytes, from: start) == end
        case 15:  // MX: preference, exchange
            return length > 2 && skipName(bytes, from: start + 2) == end
        case 33:  // SRV: priority, weight, port, target
            return length > 6 && skipName(bytes, from: start + 6) == end
        case 6:  // SOA: checked where it is read (its names, then five 32-bit fields)
            guard let mname = skipName(bytes, from: start), mname < end, let rname = skipName(bytes, from: mname) else { return false }
            return rname + 20 == end
        default:
            return true
        }
    }

    /// `bytes` without the OPT record (and ARCOUNT one less); the TTL offsets stay valid, as the
    /// OPT is the tail.
    func removingOPT(from bytes: [UInt8]) -> [UInt8] {
        guard let optRange else { return bytes }
        var trimmed = Array(bytes[..<optRange.lowerBound])
        let additional = (Int(trimmed[10]) << 8 | Int(trimmed[11])) - 1
        trimmed[10] = UInt8(additional >> 8)
        trimmed[11] = UInt8(additional & 0xff)
        return trimmed
    }
}
