/// The address family of an IP address or prefix.
public enum IPFamily: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case v4
    case v6

    /// Number of bits in an address of this family.
    public var bitWidth: Int { self == .v4 ? 32 : 128 }

    public var description: String { self == .v4 ? "IPv4" : "IPv6" }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family; IPv6 may be written in brackets (`[2001:db8::1]`).
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else {
            var body = Substring(text)
            if body.hasPrefix("["), body.hasSuffix("]") { body = body.dropFirst().dropLast() }
            guard let v6 = IPv6Address(body) else { return nil }
            self = .v6(v6)
        }
    }

    /// Builds an address from 4 or 16 network-order bytes.
    public init?(bytes: some Collection<UInt8>) {
        if let v4 = IPv4Address(bytes: bytes) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(bytes: bytes) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var family: IPFamily {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    /// Network-order bytes (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// The same address as a host prefix (`/32` or `/128`).
    public var hostPrefix: IPPrefix { IPPrefix(uncheckedAddress: self, length: family.bitWidth) }

    /// The address `offset` positions later (wrapping within the family).
    public func advanced(by offset: UInt64) -> IPAddress {
        switch self {
        case .v4(let a):
            return .v4(IPv4Address(a.value &+ UInt32(truncatingIfNeeded: offset)))
        case .v6(let a):
            let (low, overflow) = a.low.addingReportingOverflow(offset)
            return .v6(IPv6Address(high: overflow ? a.high &+ 1 : a.high, low: low))
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}
