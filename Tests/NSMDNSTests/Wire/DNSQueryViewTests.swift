import IPAddressing
@testable import NSMDNS
import Testing

@Suite("In-place query reading (the proxy's cache-hit path)")
struct DNSQueryViewTests {
    static let marker = EDNSOption(code: 65001, data: [1, 2, 3, 4, 5, 6, 7, 8])

    @Test("agrees with the full parser on plain and EDNS queries, and sees the loop marker")
    func agrees() throws {
        var plain = DNSMessage.query(DNSQuestion(name: try DNSName("Web.Cluster.LOCAL"), type: .aaaa), id: 0x1234)
        plain.header.checkingDisabled = true
        let view = try #require(DNSQueryView(plain.serialized(), marker: Self.marker))
        #expect(view.id == 0x1234 && view.type == 28 && view.dnsClass == 1 && !view.hasEDNS && view.acceptedUDPSize == 512)
        #expect(view.canonicalName == (try DNSName("web.cluster.local")).canonicalWire && view.nameLength == plain.questions[0].name.wire.count)
        #expect(DNSCacheKey(view) == DNSCacheKey(plain))

        var edns = DNSMessage.query(DNSQuestion(name: try DNSName("db.svc.nsm"), type: .a), id: 7, udpPayloadSize: 4096)
        edns.edns?.dnssecOK = true
        edns.edns?.options = [EDNSOption(code: 10, data: [9, 9]), Self.marker]
        let ednsView = try #require(DNSQueryView(edns.serialized(), marker: Self.marker))
        #expect(ednsView.hasEDNS && ednsView.udpPayloadSize == 4096 && ednsView.dnssecOK && ednsView.carriesMarker)
        #expect(DNSCacheKey(ednsView) == DNSCacheKey(edns))
        edns.edns?.options = [EDNSOption(code: 65001, data: [1, 2, 3])]
        #expect(DNSQueryView(edns.serialized(), marker: Self.marker)?.carriesMarker == false)
    }

    @Test("anything unusual is left to the full parser")
    func unusual() throws {
        var two = DNSMessage.query(DNSQuestion(name: try DNSName("a.example"), type: .a), id: 1)
        two.questions.append(DNSQuestion(name: try DNSName("b.example"), type: .a))
        #expect(DNSQueryView(two.serialized(), marker: Self.marker) == nil)
        var withAnswer = DNSMessage.query(DNSQuestion(name: try DNSName("a.example"), type: .a), id: 1)
        withAnswer.answers = [.a(try DNSName("a.example"), .init(1), ttl: 1)]
        #expect(DNSQueryView(withAnswer.serialized(), marker: Self.marker) == nil)
        let good = DNSMessage.query(DNSQuestion(name: try DNSName("a.example"), type: .a), id: 1).serialized()
        #expect(DNSQueryView(good + [0], marker: Self.marker) == nil, "trailing bytes")
        #expect(DNSQueryView(Array(good.dropLast()), marker: Self.marker) == nil, "cut short")
        var pointer = good
        pointer.replaceSubrange(12..<(good.count - 4), with: [0xc0, 12])
        #expect(DNSQueryView(pointer, marker: Self.marker) == nil, "compressed question name")
    }
}
