import NetlinkWire
import Testing

@Suite("Netlink messages against kernel captures")
struct KernelCaptureTests {
    @Test("a link dump decodes and re-encodes to the same bytes", arguments: ["links", "addresses", "routes"])
    func roundTrip(_ name: String) throws {
        let bytes = try fixture(name)
        let messages = try NetlinkMessage.decodeAll(bytes[...])
        #expect(messages.count > 1)
        #expect(messages.last?.type == .done)
        var writer = ByteWriter()
        for message in messages { message.encode(into: &writer) }
        #expect(writer.bytes == bytes)
    }

    @Test("attributes of every captured message re-encode byte for byte")
    func attributeRoundTrip() throws {
        for name in ["links", "addresses", "routes"] {
            for message in try NetlinkMessage.decodeAll(try fixture(name)[...]) where message.type != .done {
                let size: Int = switch message.type {
                case .newLink: InterfaceInfoHeader.size
                case .newAddress: AddressHeader.size
                default: RouteHeader.size
                }
                let attributes = try NetlinkAttribute.decodeList(message.payload[size...], context: name)
                var writer = ByteWriter()
                for attribute in attributes { attribute.encode(into: &writer) }
                // The kernel pads the last attribute too, except that the message length excludes it.
                #expect(Array(writer.bytes.prefix(message.payload.count - size)) == Array(message.payload[size...]))
            }
        }
    }

    @Test("links: names, kinds and VXLAN data are where the kernel put them")
    func links() throws {
        let messages = try NetlinkMessage.decodeAll(try fixture("links")[...]).filter { $0.type == .newLink }
        var kinds: [String: String] = [:]
        var vxlanData: [NetlinkAttribute] = []
        for message in messages {
            let (header, attributes) = try message.decode(InterfaceInfoHeader.self)
            #expect(header.index > 0)
            let name = try #require(attributes.first(LinkAttribute.name)).stringValue
            let info = try attributes.first(LinkAttribute.linkInfo)?.children() ?? []
            kinds[name] = info.first(LinkInfoAttribute.kind)?.stringValue ?? ""
            if name == "vx0" { vxlanData = try #require(info.first(LinkInfoAttribute.data)).children() }
            if name == "lo" { #expect(header.flags.contains(.loopback)) }
        }
        #expect(kinds == ["lo": "", "veth-a": "veth", "veth-b": "veth", "br0": "bridge", "vx0": "vxlan"])
        #expect(vxlanData.first(VXLANAttribute.id)?.uint32Value == 4242)
        #expect(vxlanData.first(VXLANAttribute.port)?.uint16BigEndianValue == 4789)
        #expect(vxlanData.first(VXLANAttribute.learning)?.uint8Value == 0)
        #expect(vxlanData.first(VXLANAttribute.local)?.value == [192, 0, 2, 1])
        #expect(vxlanData.first(VXLANAttribute.group)?.value == [192, 0, 2, 2])
    }

    @Test("addresses and routes decode their fixed headers")
    func addressesAndRoutes() throws {
        let addresses = try NetlinkMessage.decodeAll(try fixture("addresses")[...]).filter { $0.type == .newAddress }
        let decoded = try addresses.map { try $0.decode(AddressHeader.self) }
        let v4 = try #require(decoded.first { $0.attributes.first(AddressAttribute.local)?.value == [192, 0, 2, 1] })
        #expect(v4.header.prefixLength == 24)
        #expect(v4.header.family == AddressFamily.inet)
        let v6 = try #require(decoded.first { $0.header.family == AddressFamily.inet6 && $0.header.prefixLength == 64 && $0.header.scope == .universe })
        let v6Flags = AddressFlags(rawValue: v6.attributes.first(AddressAttribute.flags)?.uint32Value ?? 0)
        #expect(v6Flags.contains(.noDAD))

        let routes = try NetlinkMessage.decodeAll(try fixture("routes")[...]).filter { $0.type == .newRoute }.map { try $0.decode(RouteHeader.self) }
        let via = try #require(routes.first { $0.attributes.first(RouteAttribute.destination)?.value == [198, 51, 100, 0] })
        #expect(via.header.destinationLength == 24)
        #expect(via.attributes.first(RouteAttribute.gateway)?.value == [192, 0, 2, 254])
        #expect(via.header.scope == .universe)
        let link = try #require(routes.first { $0.attributes.first(RouteAttribute.destination)?.value == [203, 0, 113, 7] })
        #expect(link.header.scope == .link)
        #expect(link.attributes.first(RouteAttribute.table)?.uint32Value == RouteTable.main)
    }

    @Test("an extended ack carries the kernel's text and the errno")
    func extendedAck() throws {
        let messages = try NetlinkMessage.decodeAll(try fixture("error-vxlan-no-id")[...])
        let error = try NetlinkErrorMessage(decoding: try #require(messages.first))
        #expect(error.error == -22)
        #expect(error.originalType == .newLink)
        #expect(error.originalSequence == 8)
        #expect(error.message == "Required attributes not provided to perform the operation")
        #expect(!error.isAcknowledgement)
    }
}

@Suite("Netlink encoding")
struct EncodingTests {
    @Test("a request encodes header, fixed part and aligned attributes")
    func request() {
        let message = NetlinkMessage(
            type: .newLink, flags: [.request, .ack, .create, .exclusive], sequence: 9,
            header: InterfaceInfoHeader(index: 3, flags: .up, change: .up),
            attributes: [.string(LinkAttribute.name, "nsm-1"), .uint32(LinkAttribute.mtu, 1446)])
        let bytes = message.encoded
        #expect(bytes.count == 16 + 16 + 12 + 8)
        #expect(Array(bytes[0..<4]) == [52, 0, 0, 0])  // length
        #expect(Array(bytes[4..<6]) == [16, 0])  // RTM_NEWLINK
        #expect(Array(bytes[6..<8]) == [0x05, 0x06])  // REQUEST|ACK|EXCL|CREATE
        #expect(Array(bytes[32..<44]) == [10, 0, 3, 0] + Array("nsm-1".utf8) + [0, 0, 0])
        let decoded = try? NetlinkMessage.decodeAll(bytes[...])
        #expect(decoded == [message])
    }

    @Test("nested attributes set NLA_F_NESTED and decode back")
    func nested() throws {
        let nested = NetlinkAttribute.nested(LinkAttribute.linkInfo, [.string(LinkInfoAttribute.kind, "veth")])
        var writer = ByteWriter()
        nested.encode(into: &writer)
        #expect(Array(writer.bytes[2..<4]) == [18, 0x80])
        let decoded = try NetlinkAttribute.decodeList(writer.bytes[...], context: "test")
        #expect(decoded.count == 1 && decoded[0].isNested && decoded[0].type == LinkAttribute.linkInfo)
        #expect(try decoded[0].children().first(LinkInfoAttribute.kind)?.stringValue == "veth")
    }

    @Test("an error message encodes and decodes with its text")
    func errorMessage() throws {
        let error = NetlinkErrorMessage(error: -17, originalType: .newAddress, originalSequence: 4, message: "File exists")
        let decoded = try NetlinkErrorMessage(decoding: error.encoded(sequence: 4))
        #expect(decoded == error)
    }
}

@Suite("Netlink decoding of hostile input")
struct HostileInputTests {
    @Test("malformed streams throw instead of crashing", arguments: [
        [UInt8](repeating: 0, count: 15),  // shorter than a header, but not empty
        [8, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],  // length 8 < 16
        [0xFF, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],  // length past the end
    ])
    func malformedStreams(_ bytes: [UInt8]) {
        #expect(throws: NetlinkWireError.self) { try NetlinkMessage.decodeAll(bytes[...]) }
    }

    @Test("malformed attributes throw", arguments: [
        [2, 0, 1, 0],  // length 2 < 4
        [9, 0, 1, 0, 1, 2],  // length past the end
    ] as [[UInt8]])
    func malformedAttributes(_ bytes: [UInt8]) {
        #expect(throws: NetlinkWireError.self) { try NetlinkAttribute.decodeList(bytes[...], context: "test") }
    }

    @Test("truncated fixed headers throw")
    func truncatedHeaders() {
        let message = NetlinkMessage(type: .newRoute, flags: [], payload: [2, 24, 0])
        #expect(throws: NetlinkWireError.self) { try message.decode(RouteHeader.self) }
        let error = NetlinkMessage(type: .error, flags: [], payload: [0, 0])
        #expect(throws: NetlinkWireError.self) { try NetlinkErrorMessage(decoding: error) }
    }

    @Test("random bytes and mutated captures never crash the decoder")
    func fuzz() throws {
        var generator = SplitMix(seed: 0x5EED)
        let seeds = try ["links", "addresses", "routes", "error-vxlan-no-id"].map { try fixture($0) }
        var decodedSomething = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int.random(in: 0..<512, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = seeds[round % seeds.count]
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if round % 4 == 1 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
            }
            guard let messages = try? NetlinkMessage.decodeAll(bytes[...]) else { continue }
            for message in messages {
                _ = try? message.decode(InterfaceInfoHeader.self)
                _ = try? message.decode(RouteHeader.self)
                _ = try? NetlinkErrorMessage(decoding: message)
                if let attributes = try? NetlinkAttribute.decodeList(message.payload.dropFirst(16), context: "fuzz") {
                    decodedSomething += 1
                    for attribute in attributes { _ = try? attribute.children(); _ = attribute.stringValue }
                }
            }
        }
        #expect(decodedSomething > 100)
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
