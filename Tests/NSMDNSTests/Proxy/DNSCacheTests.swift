import IPAddressing
@testable import NSMDNS
import Testing

@Suite("Answer cache")
struct DNSCacheTests {
    static let second: UInt64 = 1_000_000_000

    static func query(_ name: String, edns: Bool = false) -> (DNSMessage, [UInt8]) {
        let message = DNSMessage.query(DNSQuestion(name: try! DNSName(name), type: .a), id: 0x4242, udpPayloadSize: edns ? 1232 : nil)
        return (message, message.serialized())
    }

    static func stored(_ response: DNSMessage) -> (DNSMessage, [UInt8]) {
        let bytes = response.serialized()
        return (try! DNSMessage(bytes: bytes), bytes)
    }

    @Test("positive answers: id and spelling of the asker, TTLs counted down, gone at the smallest TTL")
    func positive() throws {
        let cache = DNSCache()
        let (query, _) = Self.query("web.example")
        var response = query.response(rcode: .noError)
        response.answers = [.a(try DNSName("web.example"), IPv4Address("10.0.0.1")!, ttl: 100), .a(try DNSName("web.example"), IPv4Address("10.0.0.2")!, ttl: 40)]
        let (parsed, bytes) = Self.stored(response)
        cache.store(parsed, bytes: bytes, key: DNSCacheKey(query), now: 10 * Self.second)

        var (other, otherBytes) = Self.query("WEB.example")
        other.header.id = 7
        otherBytes[0] = 0; otherBytes[1] = 7
        let hit = try #require(cache.answer(other, queryBytes: otherBytes, key: DNSCacheKey(other), now: 25 * Self.second))
        let answer = try DNSMessage(bytes: hit)
        #expect(answer.header.id == 7)
        #expect(answer.questions[0].name.description == "WEB.example.")
        #expect(answer.answers.map(\.ttl) == [85, 25])
        #expect(cache.answer(other, queryBytes: otherBytes, key: DNSCacheKey(other), now: 50 * Self.second) == nil)
        #expect(cache.count == 0)
    }

    @Test("an answer read in place is cached exactly as a parsed one: same bytes served, same lifetime")
    func inPlace() throws {
        let (query, queryBytes) = Self.query("db.svc.nsm")
        var response = query.response(rcode: .noError)
        response.answers = [.a(try DNSName("db.svc.nsm"), IPv4Address("172.16.0.9")!, ttl: 30), .a(try DNSName("db.svc.nsm"), IPv4Address("172.16.0.8")!, ttl: 90)]
        var negative = query.response(rcode: .nxDomain)
        let soa = DNSStartOfAuthority(primary: try DNSName("ns.svc.nsm"), mailbox: try DNSName("hostmaster.svc.nsm"), serial: 1, minimum: 20)
        negative.authorities = [DNSRecord(name: try DNSName("svc.nsm"), type: .soa, ttl: 45, data: .soa(soa))]
        for answer in [response, negative] {
            let bytes = answer.serialized()
            let parsedCache = DNSCache(), viewCache = DNSCache()
            parsedCache.store(try DNSMessage(bytes: bytes), bytes: bytes, key: DNSCacheKey(query), now: 0)
            viewCache.store(try #require(DNSResponseView(bytes)), bytes: bytes, key: DNSCacheKey(query), now: 0)
            for seconds: UInt64 in [0, 7, 19, 21, 29, 31] {
                let fromParsed = parsedCache.answer(query, queryBytes: queryBytes, key: DNSCacheKey(query), now: seconds * Self.second)
                let fromView = viewCache.answer(query, queryBytes: queryBytes, key: DNSCacheKey(query), now: seconds * Self.second)
                #expect(fromParsed == fromView, "at \(seconds) s")
            }
        }
    }

    @Test("an answer for an EDNS asker is not given to a plain one")
    func ednsSeparate() throws {
        let cache = DNSCache()
        let (query, _) = Self.query("web.example", edns: true)
        var response = query.response(rcode: .noError)
        response.answers = [.a(try DNSName("web.example"), IPv4Address("10.0.0.1")!, ttl: 100)]
        let (parsed, bytes) = Self.stored(response)
        cache.store(parsed, bytes: bytes, key: DNSCacheKey(query), now: 0)
        let (plain, plainBytes) = Self.query("web.example")
        #expect(cache.answer(plain, queryBytes: plainBytes, key: DNSCacheKey(plain), now: 1) == nil)
        #expect(cache.answer(query, queryBytes: query.serialized(), key: DNSCacheKey(query), now: 1) != nil)
    }

    @Test("negative answers: kept for min(SOA TTL, SOA minimum, cap); without SOA not at all")
    func negative() throws {
        let cache = DNSCache(maximumNegativeTTL: 20)
        let (query, queryBytes) = Self.query("nothing.example")
        var response = query.response(rcode: .nxDomain)
        #expect({ let (p, b) = Self.stored(response); cache.store(p, bytes: b, key: DNSCacheKey(query), now: 0); return cache.count }() == 0)
        response.authorities = [DNSRecord(name: try DNSName("example"), type: .soa, ttl: 300, data: .soa(DNSStartOfAuthority(
            primary: try DNSName("ns.example"), mailbox: try DNSName("h.example"), serial: 1, minimum: 120)))]
        let (parsed, bytes) = Self.stored(response)
        cache.store(parsed, bytes: bytes, key: DNSCacheKey(query), now: 0)
        #expect(cache.answer(query, queryBytes: queryBytes, key: DNSCacheKey(query), now: 19 * Self.second).map { try? DNSMessage(bytes: $0).rcode } == .nxDomain)
        #expect(cache.answer(query, queryBytes: queryBytes, key: DNSCacheKey(query), now: 21 * Self.second) == nil)
    }

    @Test("bounded: the oldest entries go, and negatives cannot push out positives")
    func bounded() throws {
        let cache = DNSCache(capacity: 3, negativeCapacity: 2)
        var keys: [DNSCacheKey] = []
        for index in 0..<5 {
            let (query, _) = Self.query("n\(index).example")
            var response = query.response(rcode: .noError)
            response.answers = [.a(query.questions[0].name, IPv4Address(UInt32(index)), ttl: 100)]
            let (parsed, bytes) = Self.stored(response)
            cache.store(parsed, bytes: bytes, key: DNSCacheKey(query), now: 0)
            keys.append(DNSCacheKey(query))
        }
        for index in 0..<10 {
            let (query, _) = Self.query("missing\(index).example")
            var response = query.response(rcode: .nxDomain)
            response.authorities = [DNSRecord(name: try DNSName("example"), type: .soa, ttl: 60, data: .soa(DNSStartOfAuthority(
                primary: try DNSName("ns.example"), mailbox: try DNSName("h.example"), serial: 1, minimum: 60)))]
            let (parsed, bytes) = Self.stored(response)
            cache.store(parsed, bytes: bytes, key: DNSCacheKey(query), now: 0)
        }
        #expect(cache.positiveCount == 3 && cache.negativeCount == 2 && cache.count == 5)
        let (first, firstBytes) = Self.query("n0.example")
        let (last, lastBytes) = Self.query("n4.example")
        #expect(cache.answer(first, queryBytes: firstBytes, key: DNSCacheKey(first), now: 1) == nil)
        #expect(cache.answer(last, queryBytes: lastBytes, key: DNSCacheKey(last), now: 1) != nil)
    }
}
