import IPAddressing
/// Writes a DNS message, compressing names (RFC 1035 §4.1.4) against every name suffix
/// already written in the first 16 KiB.
struct DNSWriter {
    var bytes: [UInt8] = []
    private var suffixes: [[UInt8]: Int] = [:]

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes.append(UInt8(value >> 8)); bytes.append(UInt8(value & 0xff)) }
    mutating func u32(_ value: UInt32) {
        bytes.append(UInt8(value >> 24)); bytes.append(UInt8((value >> 16) & 0xff))
        bytes.append(UInt8((value >> 8) & 0xff)); bytes.append(UInt8(value & 0xff))
    }

    mutating func name(_ name: DNSName, compress: Bool = true) {
        let canonical = name.canonicalWire
        var index = 0
        while canonical[index] != 0 {
            let suffix = Array(canonical[index...])
            if compress, let offset = suffixes[suffix] {
                u16(0xc000 | UInt16(offset))
                return
            }
            if bytes.count < 0x3fff { suffixes[suffix] = bytes.count }
            let length = Int(name.wire[index])
            bytes += name.wire[index...(index + length)]
            index += length + 1
        }
        bytes.append(0)
    }

    mutating func question(_ question: DNSQuestion) {
        name(question.name)
        u16(question.type.rawValue)
        u16(question.dnsClass.rawValue)
    }

    mutating func record(_ record: DNSRecord) {
        name(record.name)
        u16(record.type.rawValue)
        u16(record.dnsClass.rawValue)
        u32(record.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch record.data {
        case .a(let address): bytes += address.bytes
        case .aaaa(let address): bytes += address.bytes
        case .cname(let target), .ns(let target), .ptr(let target): name(target)
        case .mx(let preference, let exchange):
            u16(preference)
            name(exchange)
        case .soa(let soa):
            name(soa.primary)
            name(soa.mailbox)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(value) }
        case .txt(let strings):
            for string in strings {
                let chunk = string.prefix(255)
                u8(UInt8(chunk.count))
                bytes += chunk
            }
        case .srv(let priority, let weight, let port, let target):
            u16(priority); u16(weight); u16(port)
            name(target, compress: false)  // RFC 2782: no compression in SRV targets
        case .opt(let options):
            for option in options { bytes += option.wire }
        case .raw(let data): bytes += data
        }
        let length = bytes.count - lengthAt - 2
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xff)
    }
}
