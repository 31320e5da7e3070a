public import IPAddressing

/// A resource record. For OPT (EDNS0) the class carries the UDP payload size and the TTL the
/// extended rcode, version and flags, as on the wire; see ``DNSMessage/edns``.
public struct DNSRecord: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSType
    public var dnsClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData
    /// Where the TTL field sat in the message this record was read from (for patching TTLs in a
    /// cached answer without re-encoding it). Not part of equality.
    public var ttlOffset: Int?

    public init(name: DNSName, type: DNSType, dnsClass: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.dnsClass = dnsClass
        self.ttl = ttl
        self.data = data
    }

    public static func a(_ name: DNSName, _ address: IPv4Address, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: .a, ttl: ttl, data: .a(address))
    }

    public static func aaaa(_ name: DNSName, _ address: IPv6Address, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: .aaaa, ttl: ttl, data: .aaaa(address))
    }

    public static func == (lhs: DNSRecord, rhs: DNSRecord) -> Bool {
        lhs.name == rhs.name && lhs.type == rhs.type && lhs.dnsClass == rhs.dnsClass && lhs.ttl == rhs.ttl && lhs.data == rhs.data
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(type)
        hasher.combine(ttl)
    }

    public var description: String { "\(name) \(ttl) \(dnsClass) \(type) \(data)" }
}

/// The SOA fields (RFC 1035 §3.3.13); `minimum` is the negative-caching TTL (RFC 2308).
public struct DNSStartOfAuthority: Hashable, Sendable {
    public var primary: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(primary: DNSName, mailbox: DNSName, serial: UInt32, refresh: UInt32 = 3600, retry: UInt32 = 600, expire: UInt32 = 86400, minimum: UInt32) {
        self.primary = primary
        self.mailbox = mailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// Record data of the types the proxy and responder look into; anything else stays raw bytes
/// (RFC 3597), which is always safe to pass on.
public enum DNSRecordData: Hashable, Sendable, CustomStringConvertible {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(DNSStartOfAuthority)
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case opt([EDNSOption])
    case raw([UInt8])

    public var description: String {
        switch self {
        case .a(let address): "\(address)"
        case .aaaa(let address): "\(address)"
        case .cname(let name), .ns(let name), .ptr(let name): "\(name)"
        case .mx(let preference, let exchange): "\(preference) \(exchange)"
        case .soa(let soa): "\(soa.primary) \(soa.mailbox) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .txt(let strings): strings.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: " ")
        case .srv(let priority, let weight, let port, let target): "\(priority) \(weight) \(port) \(target)"
        case .opt(let options): "OPT \(options.count) options"
        case .raw(let bytes): "\\# \(bytes.count)"
        }
    }
}

/// One EDNS0 option (RFC 6891 §6.1.2): code and opaque data.
public struct EDNSOption: Hashable, Sendable {
    public var code: UInt16
    public var data: [UInt8]
    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    /// The option as it sits in an OPT record's data: code, length, data.
    public var wire: [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xff), UInt8(data.count >> 8), UInt8(data.count & 0xff)] + data
    }
}
