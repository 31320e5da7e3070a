import IPAddressing
import Testing

@Suite("IP addresses")
struct IPAddressTests {
    @Test("IPv4 parses and prints", arguments: ["0.0.0.0", "10.0.0.1", "255.255.255.255", "192.0.2.33"])
    func v4RoundTrip(_ text: String) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.description == text)
        #expect(IPv4Address(bytes: address.bytes) == address)
    }

    @Test("IPv4 rejects malformed text", arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.-4", "1.2.3.4 "])
    func v4Rejects(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test("IPv6 canonical form (RFC 5952)", arguments: [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("fd00:1:2:3:4:5:6:7", "fd00:1:2:3:4:5:6:7"),
    ])
    func v6Canonical(_ input: String, _ canonical: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
        #expect(IPv6Address(bytes: address.bytes) == address)
    }

    @Test("IPv6 rejects malformed text", arguments: ["", ":", ":::", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "fe80::1%eth0", "::1.2.3"])
    func v6Rejects(_ text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test("IPAddress picks the family, accepts brackets for IPv6")
    func generic() throws {
        #expect(IPAddress("10.1.2.3")?.family == .v4)
        #expect(IPAddress("[2001:db8::1]")?.family == .v6)
        #expect(IPAddress("nonsense") == nil)
        #expect(IPAddress("10.0.0.255")!.advanced(by: 1) == IPAddress("10.0.1.0"))
        #expect(IPAddress("::ffff:ffff:ffff:ffff")!.advanced(by: 1) == IPAddress("0:0:0:1::"))
        #expect(try #require(IPv6Address("fe80::1")).isLinkLocal)
        #expect(!(try #require(IPv6Address("fd00::1")).isLinkLocal))
    }
}

@Suite("IP prefixes")
struct IPPrefixTests {
    @Test("parses CIDR and keeps host bits")
    func parse() throws {
        let prefix = try #require(IPPrefix("10.1.2.3/24"))
        #expect(prefix.length == 24)
        #expect(prefix.description == "10.1.2.3/24")
        #expect(prefix.network.description == "10.1.2.0/24")
        #expect(prefix.lastAddress.description == "10.1.2.255")
        #expect(!prefix.isHost)
        #expect(IPPrefix("10.1.2.3", requireLength: false)?.isHost == true)
        #expect(IPPrefix("2001:db8::1/64")?.network.description == "2001:db8::/64")
        #expect(IPPrefix("2001:db8::/64")?.lastAddress.description == "2001:db8::ffff:ffff:ffff:ffff")
        #expect(IPPrefix("0.0.0.0/0")?.contains(IPAddress("8.8.8.8")!) == true)
        #expect(IPPrefix("::/0")?.contains(IPAddress("::1")!) == true)
    }

    @Test("rejects malformed CIDR", arguments: ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08", "::/129", "x/8", "10.0.0.0/8/8"])
    func rejects(_ text: String) {
        #expect(IPPrefix(text) == nil)
    }

    @Test("containment and overlap")
    func containment() throws {
        let cluster = try #require(IPPrefix("10.96.0.0/12"))
        #expect(cluster.contains(IPAddress("10.100.1.1")!))
        #expect(!cluster.contains(IPAddress("10.112.0.0")!))
        #expect(cluster.contains(IPPrefix("10.96.0.0/16")!))
        #expect(!cluster.contains(IPPrefix("10.0.0.0/8")!))
        #expect(cluster.overlaps(IPPrefix("10.0.0.0/8")!))
        #expect(!cluster.overlaps(IPPrefix("172.16.0.0/12")!))
        #expect(!cluster.overlaps(IPPrefix("::/0")!))
        #expect(IPPrefix("fd00::/8")!.contains(IPPrefix("fd00:1::5/128")!))
        #expect(IPPrefix("fd00:1::/65")!.contains(IPAddress("fd00:1::7fff:ffff:ffff:ffff")!))
        #expect(!IPPrefix("fd00:1::/65")!.contains(IPAddress("fd00:1::8000:0:0:0")!))
    }
}

@Suite("IPPrefix.merged")
struct IPPrefixMergeTests {
    @Test("duplicates and contained prefixes go; IPv4 first, in address order; hosts inside a range go too")
    func merged() {
        let input = ["fd00::/64", "10.96.0.0/12", "10.96.0.10/32", "10.244.1.0/24", "10.244.0.0/16", "fd00::5/128", "10.96.0.0/12", "192.168.1.7/24"]
        #expect(IPPrefix.merged(input.map { IPPrefix($0)! }).map(\.description) == ["10.96.0.0/12", "10.244.0.0/16", "192.168.1.0/24", "fd00::/64"])
        #expect(IPPrefix.merged([]).isEmpty)
    }
}
