/// The 12-byte message header (RFC 1035 §4.1.1), with the flag bits as properties.
public struct DNSHeader: Hashable, Sendable {
    public var id: UInt16
    public var flags: UInt16

    public init(id: UInt16 = 0, flags: UInt16 = 0) {
        self.id = id
        self.flags = flags
    }

    public var isResponse: Bool { get { bit(15) } set { set(15, newValue) } }
    public var opcode: UInt8 {
        get { UInt8((flags >> 11) & 0x0f) }
        set { flags = (flags & ~(0x0f << 11)) | (UInt16(newValue & 0x0f) << 11) }
    }
    public var isAuthoritative: Bool { get { bit(10) } set { set(10, newValue) } }
    public var isTruncated: Bool { get { bit(9) } set { set(9, newValue) } }
    public var recursionDesired: Bool { get { bit(8) } set { set(8, newValue) } }
    public var recursionAvailable: Bool { get { bit(7) } set { set(7, newValue) } }
    public var authenticData: Bool { get { bit(5) } set { set(5, newValue) } }
    public var checkingDisabled: Bool { get { bit(4) } set { set(4, newValue) } }
    public var rcode: DNSRCode {
        get { DNSRCode(rawValue: UInt8(flags & 0x0f)) }
        set { flags = (flags & ~0x0f) | UInt16(newValue.rawValue) }
    }

    private func bit(_ n: UInt16) -> Bool { flags & (1 << n) != 0 }
    private mutating func set(_ n: UInt16, _ on: Bool) { if on { flags |= 1 << n } else { flags &= ~(1 << n) } }
}
