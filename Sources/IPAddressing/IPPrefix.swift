/// An IP address with a prefix length, in CIDR form (`10.0.0.1/24`).
///
/// The address keeps any host bits it was written with: `10.0.0.1/24` names an interface
/// address. ``network`` gives the masked form (`10.0.0.0/24`).
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// Creates a prefix; `nil` when `length` is out of range for the address family.
    public init?(address: IPAddress, length: Int) {
        guard (0...address.family.bitWidth).contains(length) else { return nil }
        self.address = address
        self.length = length
    }

    init(uncheckedAddress address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// Parses `address/length`. With `requireLength: false`, a bare address is taken as a host prefix.
    public init?(_ text: some StringProtocol, requireLength: Bool = true) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        if parts.count == 1 {
            guard !requireLength else { return nil }
            self.init(uncheckedAddress: address, length: address.family.bitWidth)
            return
        }
        let lengthText = parts[1]
        guard !lengthText.isEmpty, lengthText.count <= 3, lengthText.allSatisfy({ $0.isASCII && $0.isNumber }),
              lengthText.count == 1 || lengthText.first != "0",
              let length = Int(lengthText)
        else { return nil }
        self.init(address: address, length: length)
    }

    public var family: IPFamily { address.family }

    /// Whether this is a single address (`/32` or `/128`).
    public var isHost: Bool { length == family.bitWidth }

    /// The prefix with host bits cleared.
    public var network: IPPrefix {
        IPPrefix(uncheckedAddress: Self.mask(address, length: length), length: length)
    }

    /// The first address of the prefix (host bits cleared).
    public var firstAddress: IPAddress { Self.mask(address, length: length) }

    /// The last address of the prefix (host bits set).
    public var lastAddress: IPAddress {
        switch address {
        case .v4(let a):
            let hostMask: UInt32 = length == 0 ? .max : (length == 32 ? 0 : UInt32.max >> UInt32(length))
            return .v4(IPv4Address(a.value | hostMask))
        case .v6(let a):
            let highMask: UInt64 = length >= 64 ? 0 : (length == 0 ? .max : UInt64.max >> UInt64(length))
            let lowMask: UInt64 = length <= 64 ? .max : (length == 128 ? 0 : UInt64.max >> UInt64(length - 64))
            return .v6(IPv6Address(high: a.high | highMask, low: a.low | lowMask))
        }
    }

    /// Whether `other` lies within this prefix.
    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && Self.mask(other, length: length) == firstAddress
    }

    /// Whether every address of `other` lies within this prefix.
    public func contains(_ other: IPPrefix) -> Bool {
        other.family == family && other.length >= length && contains(other.address)
    }

    /// Whether the two prefixes share at least one address.
    public func overlaps(_ other: IPPrefix) -> Bool {
        contains(other) || other.contains(self)
    }

    public var description: String { "\(address)/\(length)" }

    static func mask(_ address: IPAddress, length: Int) -> IPAddress {
        switch address {
        case .v4(let a):
            let mask: UInt32 = length == 0 ? 0 : UInt32.max << UInt32(32 - length)
            return .v4(IPv4Address(a.value & mask))
        case .v6(let a):
            let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : UInt64.max << UInt64(64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? .max : UInt64.max << UInt64(128 - length))
            return .v6(IPv6Address(high: a.high & highMask, low: a.low & lowMask))
        }
    }
}
