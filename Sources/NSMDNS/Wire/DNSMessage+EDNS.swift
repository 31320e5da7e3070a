/// EDNS0 (RFC 6891): the OPT pseudo-record's fields.
public struct EDNS: Hashable, Sendable {
    /// What we announce: 1232 bytes, the DNS flag day 2020 value that avoids IP fragmentation.
    public static let defaultPayloadSize: UInt16 = 1232

    public var udpPayloadSize: UInt16
    public var extendedRCode: UInt8
    public var version: UInt8
    public var dnssecOK: Bool
    public var options: [EDNSOption]

    public init(udpPayloadSize: UInt16, extendedRCode: UInt8 = 0, version: UInt8 = 0, dnssecOK: Bool = false, options: [EDNSOption] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRCode = extendedRCode
        self.version = version
        self.dnssecOK = dnssecOK
        self.options = options
    }

    var record: DNSRecord {
        let ttl = UInt32(extendedRCode) << 24 | UInt32(version) << 16 | (dnssecOK ? 0x8000 : 0)
        return DNSRecord(name: .root, type: .opt, dnsClass: DNSClass(rawValue: udpPayloadSize), ttl: ttl, data: .opt(options))
    }

    init?(_ record: DNSRecord) {
        guard record.type == .opt else { return nil }
        udpPayloadSize = record.dnsClass.rawValue
        extendedRCode = UInt8(record.ttl >> 24)
        version = UInt8((record.ttl >> 16) & 0xff)
        dnssecOK = record.ttl & 0x8000 != 0
        if case .opt(let options) = record.data { self.options = options } else { self.options = [] }
    }
}

extension DNSMessage {
    /// The OPT record of the additional section, read and written as ``EDNS``.
    public var edns: EDNS? {
        get { additionals.lazy.compactMap(EDNS.init).first }
        set {
            additionals.removeAll { $0.type == .opt }
            if let newValue { additionals.append(newValue.record) }
        }
    }

    /// The largest UDP response the sender of this query accepts: its EDNS size (at least
    /// 512), or 512 without EDNS (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
    public var acceptedUDPSize: Int {
        guard let edns else { return 512 }
        return max(512, Int(edns.udpPayloadSize))
    }
}
