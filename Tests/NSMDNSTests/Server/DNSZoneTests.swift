import IPAddressing
@testable import NSMDNS
import Testing

@Suite("Authoritative zone answers")
struct DNSZoneTests {
    static func zone() throws -> DNSZone {
        var zone = DNSZone(origin: try DNSName("svc.nsm"), ttl: 30)
        try zone.add(parsing: "db=172.16.1.5")
        try zone.add(parsing: "db=fd00::5")
        try zone.add(parsing: "deep.sub=172.16.1.6")
        try zone.add(parsing: "endpoint=self")
        try zone.add(parsing: "@=172.16.1.1")
        return zone
    }

    static func ask(_ name: String, _ type: DNSType, local: IPAddress? = nil) throws -> DNSMessage {
        try zone().answer(DNSMessage.query(DNSQuestion(name: try DNSName(name), type: type), id: 9), local: local)
    }

    @Test("records of the asked type, authoritative")
    func positive() throws {
        let a = try Self.ask("DB.svc.nsm", .a)
        #expect(a.rcode == .noError && a.header.isAuthoritative && a.answers.map(\.data) == [.a(IPv4Address("172.16.1.5")!)])
        #expect(try Self.ask("db.svc.nsm", .aaaa).answers.map(\.data) == [.aaaa(IPv6Address("fd00::5")!)])
        #expect(try Self.ask("svc.nsm", .a).answers.count == 1)
        #expect(try Self.ask("endpoint.svc.nsm", .a, local: IPAddress("172.16.1.8")).answers.map(\.data) == [.a(IPv4Address("172.16.1.8")!)])
    }

    @Test("NODATA and NXDOMAIN carry the SOA; an empty non-terminal exists; outside the zone is refused")
    func negative() throws {
        let nodata = try Self.ask("deep.sub.svc.nsm", .aaaa)
        #expect(nodata.rcode == .noError && nodata.answers.isEmpty && nodata.authorities.first?.type == .soa)
        let empty = try Self.ask("sub.svc.nsm", .a)
        #expect(empty.rcode == .noError && empty.answers.isEmpty)
        let missing = try Self.ask("nothing.svc.nsm", .a)
        #expect(missing.rcode == .nxDomain && missing.authorities.first?.type == .soa)
        #expect(try Self.ask("web.example", .a).rcode == .refused)
    }

    @Test("bad records are refused with what is accepted", arguments: ["db", "=1.2.3.4", "db=not-an-ip", "x.other.example.=1.2.3.4", "a..b=1.2.3.4"])
    func badRecords(_ text: String) throws {
        var zone = DNSZone(origin: try DNSName("svc.nsm"))
        #expect { try zone.add(parsing: text) } throws: { error in "\(error)".contains("accepted:") }
    }
}
