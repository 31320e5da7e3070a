import IPAddressing
@testable import NSMDNS
import Testing

@Suite("DNS wire codec")
struct DNSMessageTests {
    static func name(_ text: String) -> DNSName { try! DNSName(text) }

    static var sample: DNSMessage {
        var header = DNSHeader(id: 0xbeef)
        header.isResponse = true
        header.recursionDesired = true
        header.recursionAvailable = true
        header.isAuthoritative = true
        let www = name("www.Example.org"), org = name("example.org")
        var message = DNSMessage(header: header, questions: [DNSQuestion(name: www, type: .a)])
        message.answers = [
            DNSRecord(name: www, type: .cname, ttl: 300, data: .cname(name("web.example.org"))),
            .a(name("web.example.org"), IPv4Address("192.0.2.7")!, ttl: 60),
            .aaaa(name("web.example.org"), IPv6Address("2001:db8::7")!, ttl: 60),
            DNSRecord(name: org, type: .mx, ttl: 60, data: .mx(preference: 10, exchange: name("mail.example.org"))),
            DNSRecord(name: org, type: .txt, ttl: 60, data: .txt([Array("v=spf1 -all".utf8), []])),
            DNSRecord(name: name("_sip._udp.example.org"), type: .srv, ttl: 60, data: .srv(priority: 1, weight: 2, port: 5060, target: name("sip.example.org"))),
            DNSRecord(name: name("7.2.0.192.in-addr.arpa"), type: .ptr, ttl: 60, data: .ptr(www)),
            DNSRecord(name: org, type: DNSType(rawValue: 99), ttl: 5, data: .raw([1, 2, 3])),
        ]
        message.authorities = [
            DNSRecord(name: org, type: .ns, ttl: 60, data: .ns(name("ns.example.org"))),
            DNSRecord(name: org, type: .soa, ttl: 60, data: .soa(DNSStartOfAuthority(primary: name("ns.example.org"), mailbox: name("hostmaster.example.org"), serial: 7, minimum: 30))),
        ]
        message.edns = EDNS(udpPayloadSize: 1232, dnssecOK: true, options: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])
        return message
    }

    @Test("every section and record type survives a round trip; names keep their spelling")
    func roundTrip() throws {
        let message = Self.sample
        let parsed = try DNSMessage(bytes: message.serialized())
        #expect(parsed == message)
        #expect(parsed.questions[0].name.description == "www.Example.org.")
        #expect(parsed.edns == EDNS(udpPayloadSize: 1232, dnssecOK: true, options: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]))
        #expect(parsed.header.id == 0xbeef && parsed.header.isAuthoritative && parsed.header.recursionAvailable)
    }

    @Test("names are compressed against earlier suffixes (case-insensitively), SRV targets are not")
    func compression() throws {
        let bytes = Self.sample.serialized()
        let uncompressedNames = Self.sample.answers.count + Self.sample.authorities.count
        // Every owner name after the question is "example.org" or under it: each must be a pointer or end in one.
        var pointers = 0
        for index in 0..<(bytes.count - 1) where bytes[index] & 0xc0 == 0xc0 && Int(bytes[index] & 0x3f) << 8 | Int(bytes[index + 1]) == 16 { pointers += 1 }
        #expect(pointers >= uncompressedNames / 2, "expected pointers to \"example.org\" at offset 16")
        let plain = String(decoding: bytes, as: UTF8.self)
        #expect(plain.split(separator: "example", omittingEmptySubsequences: false).count - 1 <= 2, "example.org should be spelled out at most twice (question, SRV target)")
        #expect(bytes.count < 330)
    }

    @Test("a response built by hand from RFC 1035 §4.1.4 pointers parses")
    func handWrittenPointers() throws {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += [1, 70, 3, 73, 83, 73, 4, 65, 82, 80, 65, 0, 0, 1, 0, 1]  // F.ISI.ARPA A IN
        bytes += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, 1]  // pointer to 12, TTL 3600
        let message = try DNSMessage(bytes: bytes)
        #expect(message.answers.first?.name.description == "F.ISI.ARPA.")
        #expect(message.answers.first?.data == .a(IPv4Address("10.0.0.1")!))
        #expect(message.answers.first?.ttlOffset == 34)
        #expect(message.isPositive)
    }

    static let malformed: [(String, [UInt8], String)] = [
        ("short header", [0x12, 0x34, 0x01], "header flags"),
        ("question cut off", [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 119], "question name"),
        ("pointer to itself", [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1], "does not point backwards"),
        ("forward pointer", [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 20, 0, 1, 0, 1, 1, 97, 0], "does not point backwards"),
        ("pointer cycle", [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0xc0, 14, 0, 1, 0, 1], "does not point backwards"),
        ("label type 0x40", [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 97, 0, 0, 1, 0, 1], "unknown label type 0x41"),
        ("A record with 5 bytes", [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5], "needs 4 bytes, has 5"),
        ("data length past the end", [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 9, 3, 97], "message ends inside"),
        ("TXT string past its record", [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 97], "runs past the record"),
    ]

    @Test("malformed input is refused with a reason", arguments: malformed)
    func malformedInput(_ label: String, _ bytes: [UInt8], _ reason: String) {
        do {
            _ = try DNSMessage(bytes: bytes)
            Issue.record("\(label): parsed")
        } catch {
            #expect(error.description.contains(reason), "\(label): \(error)")
        }
    }

    @Test("a name longer than 255 bytes is refused, built from pointers or spelled out")
    func longNames() throws {
        #expect(throws: DNSWireError.self) { try DNSName(String(repeating: "abcdefghi.", count: 26)) }
        #expect(throws: DNSWireError.self) { try DNSName(String(repeating: "a", count: 64)) }
        #expect(throws: DNSWireError.self) { try DNSName("a..b") }
        // 5 labels of 63 bytes chained by backward pointers (320 bytes), hidden in the data of an
        // unknown-type record; a second record's name points at the end of the chain.
        var chain: [UInt8] = []
        var previous = -1
        let dataStart = 12 + 1 + 10  // header, root owner name, type/class/ttl/length
        for _ in 0..<5 {
            let start = dataStart + chain.count
            chain.append(63)
            chain += Array(repeating: 97, count: 63)
            if previous >= 0 { chain += [0xc0 | UInt8(previous >> 8), UInt8(previous & 0xff)] } else { chain.append(0) }
            previous = start
        }
        var bytes: [UInt8] = [0, 1, 0x81, 0, 0, 0, 0, 2, 0, 0, 0, 0]
        bytes += [0, 0, 99, 0, 1, 0, 0, 0, 1, UInt8(chain.count >> 8), UInt8(chain.count & 0xff)] + chain
        bytes += [0xc0 | UInt8(previous >> 8), UInt8(previous & 0xff), 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]
        #expect { try DNSMessage(bytes: bytes) } throws: { error in
            (error as? DNSWireError).map { if case .nameTooLong = $0 { true } else { false } } ?? false
        }
    }

    @Test("subdomain matching is label-aligned and case-insensitive")
    func subdomains() throws {
        let zone = try DNSName("svc.NSM")
        #expect(try DNSName("db.svc.nsm").isSubdomain(of: zone))
        #expect(try DNSName("SVC.nsm.").isSubdomain(of: zone))
        #expect(try !DNSName("xsvc.nsm").isSubdomain(of: zone))
        #expect(try !DNSName("nsm").isSubdomain(of: zone))
        #expect(try DNSName("anything.example").isSubdomain(of: .root))
    }

    @Test("truncation keeps header, question and OPT, and sets TC")
    func truncation() throws {
        var message = Self.sample
        for index in 0..<60 { message.answers.append(.a(Self.name("many.example.org"), IPv4Address(UInt32(0x0a000000 + index)), ttl: 30)) }
        let full = message.serialized()
        #expect(full.count > 512)
        let cut = try DNSMessage(bytes: message.serialized(limit: 512))
        #expect(cut.header.isTruncated && cut.answers.isEmpty && cut.questions == message.questions && cut.edns != nil)
        #expect(message.serialized(limit: full.count) == full)
    }
}
