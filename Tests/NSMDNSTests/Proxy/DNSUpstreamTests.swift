import IPAddressing
@testable import NSMDNS
import Testing

@Suite("Upstream and listen addresses")
struct DNSUpstreamTests {
    @Test("accepted forms", arguments: [
        ("10.96.0.10", "10.96.0.10:53", false),
        ("10.96.0.10:5353", "10.96.0.10:5353", false),
        ("172.16.1.0=svc.nsm", "172.16.1.0:53=svc.nsm.", true),
        ("172.16.1.0:54=a.example, b.example.", "172.16.1.0:54=a.example.,b.example.", true),
        ("fd00::a", "[fd00::a]:53", false),
        ("[fd00::a]:5300=v6.example", "[fd00::a]:5300=v6.example.", true),
    ])
    func accepted(_ text: String, _ printed: String, _ scoped: Bool) throws {
        let upstream = try DNSUpstream(parsing: text)
        #expect(upstream.description == printed)
        #expect(upstream.isScoped == scoped)
    }

    @Test("refused forms name the problem and what is accepted", arguments: [
        ("dns.example", "is not an IP address"),
        ("10.0.0.1:0", "is not 1-65535"),
        ("10.0.0.1:99999", "is not 1-65535"),
        ("10.0.0.1=", "no domains"),
        ("10.0.0.1=a..b", "empty label"),
        ("[fd00::a]x", "unexpected"),
    ])
    func refused(_ text: String, _ problem: String) {
        do {
            _ = try DNSUpstream(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(problem) && (error.description.contains("accepted") || problem == "empty label"), "\(error)")
        }
    }

    @Test("scoping: asked for its domains only; unscoped for everything")
    func serves() throws {
        let scoped = try DNSUpstream(parsing: "172.16.1.0=svc.nsm,other.example")
        #expect(scoped.serves(try DNSName("db.svc.nsm")))
        #expect(scoped.serves(try DNSName("OTHER.example")))
        #expect(!scoped.serves(try DNSName("web.cluster.local")))
        #expect(!scoped.serves(try DNSName("nsm")))
        #expect(try DNSUpstream(parsing: "10.96.0.10").serves(try DNSName("anything.at.all")))
    }
}
