import IPAddressing
@testable import NSMDNS
import Testing

@Suite("In-place response reading (the proxy's cache-miss path)")
struct DNSResponseViewTests {
    /// The facts the full parser gives, to compare the view with.
    static func facts(_ message: DNSMessage) -> (ttls: [Int], minimum: UInt32?, soa: UInt32?, positive: Bool, negative: Bool) {
        let records = message.answers + message.authorities + message.additionals.filter { $0.type != .opt }
        var soaMinimum: UInt32?
        if let soa = message.authorities.first(where: { $0.type == .soa }), case .soa(let fields) = soa.data { soaMinimum = fields.minimum }
        return (records.compactMap(\.ttlOffset), message.answers.map(\.ttl).min(), soaMinimum, message.isPositive, message.isNegative)
    }

    @Test("agrees with the full parser: question, counts, TTL offsets, SOA minimum, OPT position")
    func agrees() throws {
        let sample = DNSMessageTests.sample
        let bytes = sample.serialized()
        let parsed = try DNSMessage(bytes: bytes)
        let view = try #require(DNSResponseView(bytes))
        let expected = Self.facts(parsed)
        #expect(view.isResponse && !view.isTruncated && view.rcode == 0)
        #expect(view.questionName == parsed.questions[0].name.canonicalWire && view.questionType == 1 && view.questionClass == 1)
        #expect(view.answerCount == parsed.answers.count)
        #expect(view.ttls.map(\.offset) == expected.ttls)
        #expect(view.ttls.map(\.ttl) == (parsed.answers + parsed.authorities).map(\.ttl))
        #expect(view.minimumAnswerTTL == expected.minimum && view.soa?.minimum == expected.soa && view.soa?.ttl == 60)
        #expect(view.isPositive == expected.positive && view.isNegative == expected.negative)

        // Without the OPT: what the full parser reads once the EDNS is dropped, byte offsets intact.
        let trimmed = view.removingOPT(from: bytes)
        var withoutEDNS = parsed
        withoutEDNS.edns = nil
        #expect(try DNSMessage(bytes: trimmed) == withoutEDNS)
        #expect(try Self.facts(DNSMessage(bytes: trimmed)).ttls == expected.ttls)
        #expect(DNSResponseView(trimmed)?.optRange == nil)
    }

    @Test("negative answers: NXDOMAIN and NODATA with an SOA, and SERVFAIL")
    func negatives() throws {
        let question = DNSQuestion(name: try DNSName("nope.svc.nsm"), type: .a)
        var response = DNSMessage.query(question, id: 9).response(rcode: .nxDomain)
        let soa = DNSStartOfAuthority(primary: try DNSName("ns.svc.nsm"), mailbox: try DNSName("hostmaster.svc.nsm"), serial: 1, minimum: 15)
        response.authorities = [DNSRecord(name: try DNSName("svc.nsm"), type: .soa, ttl: 40, data: .soa(soa))]
        let nx = try #require(DNSResponseView(response.serialized()))
        #expect(nx.isNegative && !nx.isPositive && nx.rcode == 3 && nx.soa?.ttl == 40 && nx.soa?.minimum == 15 && nx.answerCount == 0)
        response.header.rcode = .noError
        let nodata = try #require(DNSResponseView(response.serialized()))
        #expect(nodata.isNegative && nodata.rcode == 0)
        let failure = try #require(DNSResponseView(DNSMessage.query(question, id: 9).response(rcode: .servFail).serialized()))
        #expect(!failure.isNegative && !failure.isPositive && failure.soa == nil)
    }

    /// A response to `a.svc.nsm A` whose one answer has `owner` as its name bytes, then `type`
    /// and `data` (compression pointers in both are relative to the message start).
    static func handMade(owner: [UInt8], type: UInt16, data: [UInt8]) -> [UInt8] {
        let header: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        let question: [UInt8] = [1, 0x61, 3, 0x73, 0x76, 0x63, 3, 0x6e, 0x73, 0x6d, 0, 0, 1, 0, 1]
        let fixed: [UInt8] = [UInt8(type >> 8), UInt8(type & 0xff), 0, 1, 0, 0, 0, 60, UInt8(data.count >> 8), UInt8(data.count & 0xff)]
        return header + question + owner + fixed + data
    }

    @Test("compression loops and pointers that do not point back, in names and in record data, are refused as the full parser refuses them")
    func pointerLoops() throws {
        let answerStart = 12 + 15
        let good = Self.handMade(owner: [0xc0, 12], type: 5, data: [3, 0x77, 0x77, 0x77, 0xc0, 12])
        #expect(DNSResponseView(good) != nil)
        #expect(try DNSMessage(bytes: good).answers.count == 1)
        let broken: [(String, [UInt8])] = [
            ("owner points at itself", Self.handMade(owner: [0xc0, UInt8(answerStart)], type: 1, data: [10, 0, 0, 1])),
            ("owner points forward", Self.handMade(owner: [0xc0, UInt8(answerStart + 2)], type: 1, data: [10, 0, 0, 1])),
            ("owner points past the end", Self.handMade(owner: [0xc0, 0xff], type: 1, data: [10, 0, 0, 1])),
            ("CNAME data points at itself", Self.handMade(owner: [0xc0, 12], type: 5, data: [0xc0, UInt8(answerStart + 12)])),
            ("CNAME data has a label and then a loop", Self.handMade(owner: [0xc0, 12], type: 5, data: [1, 0x62, 0xc0, UInt8(answerStart + 12)])),
            ("CNAME data longer than its name", Self.handMade(owner: [0xc0, 12], type: 5, data: [0xc0, 12, 0])),
            ("MX exchange loops", Self.handMade(owner: [0xc0, 12], type: 15, data: [0, 10, 0xc0, UInt8(answerStart + 14)])),
            ("reserved label type", Self.handMade(owner: [0x40, 1], type: 1, data: [10, 0, 0, 1])),
        ]
        for (why, bytes) in broken {
            #expect(DNSResponseView(bytes) == nil, "\(why)")
            #expect(throws: DNSWireError.self, "\(why)") { try DNSMessage(bytes: bytes) }
        }
    }

    @Test("anything unusual or broken is left to the full parser, never trapping")
    func unusual() throws {
        let bytes = DNSMessageTests.sample.serialized()
        #expect(DNSResponseView(bytes + [0]) == nil, "trailing bytes")
        #expect(DNSResponseView(Array(bytes.dropLast())) == nil, "cut short")
        var twoQuestions = bytes
        twoQuestions[5] = 2
        #expect(DNSResponseView(twoQuestions) == nil)
        // Random damage: the reader either agrees on the record count it walked or refuses.
        var random = DNSFuzzTests.Random(state: 0x243f6a8885a308d3)
        var read = 0, refused = 0
        for round in 0..<20_000 {
            var damaged = bytes
            if round % 2 == 0 {
                for _ in 0..<Int.random(in: 1...4, using: &random) { damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            } else {
                damaged = Array(damaged.prefix(Int.random(in: 0..<damaged.count, using: &random)))
            }
            if let view = DNSResponseView(damaged) {
                read += 1
                #expect(view.ttls.allSatisfy { $0.offset + 4 <= damaged.count })
            } else {
                refused += 1
            }
        }
        #expect(read > 100 && refused > 100, "read \(read), refused \(refused)")
    }

    @Test("the upstream query built from bytes is the one the full parser path builds")
    func upstreamBytes() throws {
        let marker = EDNSOption(code: 65001, data: [8, 7, 6, 5, 4, 3, 2, 1])
        var plain = DNSMessage.query(DNSQuestion(name: try DNSName("Db7.SVC.nsm"), type: .aaaa), id: 0x4242)
        plain.header.checkingDisabled = true
        var small = DNSMessage.query(DNSQuestion(name: try DNSName("web.cluster.local"), type: .a), id: 3, udpPayloadSize: 256)
        small.edns?.dnssecOK = true
        small.edns?.options = [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]
        let large = DNSMessage.query(DNSQuestion(name: try DNSName("x.example"), type: .txt), id: 4, udpPayloadSize: 4096)
        for query in [plain, small, large] {
            let bytes = query.serialized()
            let view = try #require(DNSQueryView(bytes, marker: marker))
            let fromView = try DNSMessage(bytes: view.upstreamBytes(bytes, id: 0x0102, marker: marker))
            let fromMessage = try DNSMessage(bytes: query.upstreamBytes(id: 0x0102, marker: marker))
            #expect(fromView == fromMessage)
            #expect(fromView.header.id == 0x0102 && fromView.edns?.options.last == marker)
            #expect(fromView.edns?.udpPayloadSize == max(query.edns?.udpPayloadSize ?? EDNS.defaultPayloadSize, 512))
            #expect(DNSQueryView(view.upstreamBytes(bytes, id: 1, marker: marker), marker: marker)?.carriesMarker == true)
        }
    }
}
