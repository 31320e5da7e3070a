import IPAddressing

/// Reads a DNS message from bytes, bounds-checked everywhere: any input either parses or
/// throws a ``DNSWireError``; compression pointers must point strictly backwards, so a
/// pointer loop cannot be followed.
struct DNSReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u8(_ field: String) throws(DNSWireError) -> UInt8 {
        guard position < bytes.count else { throw .truncated(field: field, offset: position) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16(_ field: String) throws(DNSWireError) -> UInt16 {
        guard position + 2 <= bytes.count else { throw .truncated(field: field, offset: position) }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func u32(_ field: String) throws(DNSWireError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw .truncated(field: field, offset: position) }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16 | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])
    }

    mutating func take(_ count: Int, _ field: String) throws(DNSWireError) -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else { throw .truncated(field: field, offset: position) }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Reads a possibly compressed name at the current position.
    mutating func name(_ field: String) throws(DNSWireError) -> DNSName {
        var wire: [UInt8] = []
        var cursor = position
        var resumeAt: Int?
        // Pointers must go strictly below the lowest offset visited so far: no loops.
        var lowestVisited = position
        while true {
            guard cursor < bytes.count else { throw .truncated(field: field, offset: cursor) }
            let length = bytes[cursor]
            switch length & 0xc0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    position = resumeAt ?? cursor + 1
                    return DNSName(uncheckedWire: wire)
                }
                let end = cursor + 1 + Int(length)
                guard end <= bytes.count else { throw .truncated(field: field, offset: cursor) }
                wire.append(length)
                wire += bytes[(cursor + 1)..<end]
                guard wire.count < 255 else { throw .nameTooLong(offset: position) }
                cursor = end
            case 0xc0:
                guard cursor + 1 < bytes.count else { throw .truncated(field: field, offset: cursor) }
                let target = Int(length & 0x3f) << 8 | Int(bytes[cursor + 1])
                guard target < lowestVisited else { throw .badPointer(offset: cursor, target: target) }
                if resumeAt == nil { resumeAt = cursor + 2 }
                lowestVisited = target
                cursor = target
            default:
                throw .badLabelType(offset: cursor, byte: length)
            }
        }
    }

    mutating func question() throws(DNSWireError) -> DNSQuestion {
        let name = try name("question name")
        let type = try u16("question type"), dnsClass = try u16("question class")
        return DNSQuestion(name: name, type: DNSType(rawValue: type), dnsClass: DNSClass(rawValue: dnsClass))
    }

    mutating func record() throws(DNSWireError) -> DNSRecord {
        let name = try name("record name")
        let type = DNSType(rawValue: try u16("record type"))
        let dnsClass = DNSClass(rawValue: try u16("record class"))
        let ttlOffset = position
        let ttl = try u32("record ttl")
        let length = Int(try u16("record data length"))
        let start = position
        guard start + length <= bytes.count else { throw .truncated(field: "\(type) record data", offset: start) }
        let data = try recordData(type, length: length)
        guard position == start + length else {
            throw .badRecordData(type: type.rawValue, offset: start, problem: "data length \(length) but the fields took \(position - start)")
        }
        var record = DNSRecord(name: name, type: type, dnsClass: dnsClass, ttl: ttl, data: data)
        record.ttlOffset = ttlOffset
        return record
    }

    private mutating func recordData(_ type: DNSType, length: Int) throws(DNSWireError) -> DNSRecordData {
        let start = position
        func need(_ size: Int) throws(DNSWireError) {
            guard length == size else { throw .badRecordData(type: type.rawValue, offset: start, problem: "needs \(size) bytes, has \(length)") }
        }
        switch type {
        case .a:
            try need(4)
            return .a(IPv4Address(bytes: try take(4, "A address"))!)
        case .aaaa:
            try need(16)
            return .aaaa(IPv6Address(bytes: try take(16, "AAAA address"))!)
        case .cname: return .cname(try name("CNAME target"))
        case .ns: return .ns(try name("NS host"))
        case .ptr: return .ptr(try name("PTR target"))
        case .mx:
            let preference = try u16("MX preference")
            return .mx(preference: preference, exchange: try name("MX exchange"))
        case .soa:
            let primary = try name("SOA primary"), mailbox = try name("SOA mailbox")
            return .soa(DNSStartOfAuthority(
                primary: primary, mailbox: mailbox, serial: try u32("SOA serial"), refresh: try u32("SOA refresh"),
                retry: try u32("SOA retry"), expire: try u32("SOA expire"), minimum: try u32("SOA minimum")))
        case .srv:
            let priority = try u16("SRV priority"), weight = try u16("SRV weight"), port = try u16("SRV port")
            return .srv(priority: priority, weight: weight, port: port, target: try name("SRV target"))
        case .txt:
            var strings: [[UInt8]] = []
            while position < start + length {
                let count = Int(try u8("TXT length"))
                guard position + count <= start + length else { throw .badRecordData(type: type.rawValue, offset: position, problem: "string runs past the record") }
                strings.append(try take(count, "TXT string"))
            }
            return .txt(strings)
        case .opt:
            var options: [EDNSOption] = []
            while position < start + length {
                let code = try u16("EDNS option code"), size = Int(try u16("EDNS option length"))
                guard position + size <= start + length else { throw .badRecordData(type: type.rawValue, offset: position, problem: "option runs past the record") }
                options.append(EDNSOption(code: code, data: try take(size, "EDNS option data")))
            }
            return .opt(options)
        default:
            return .raw(try take(length, "\(type) data"))
        }
    }
}
