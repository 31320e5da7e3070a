/// `rtm_scope` / `ifa_scope` values.
public struct RouteScope: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let universe = Self(rawValue: 0)
    public static let site = Self(rawValue: 200)
    public static let link = Self(rawValue: 253)
    public static let host = Self(rawValue: 254)
    public static let nowhere = Self(rawValue: 255)

    public var description: String {
        switch self {
        case .universe: "global"
        case .site: "site"
        case .link: "link"
        case .host: "host"
        case .nowhere: "nowhere"
        default: String(rawValue)
        }
    }
}

/// `rtm_type`.
public struct RouteType: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unspecified = Self(rawValue: 0)
    public static let unicast = Self(rawValue: 1)
    public static let local = Self(rawValue: 2)
    public static let broadcast = Self(rawValue: 3)
    public static let blackhole = Self(rawValue: 6)
}

/// `rtm_protocol`.
public struct RouteProtocol: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let kernel = Self(rawValue: 2)
    public static let boot = Self(rawValue: 3)
    public static let `static` = Self(rawValue: 4)
}

/// Well-known routing tables.
public enum RouteTable {
    public static let main: UInt32 = 254
    public static let local: UInt32 = 255
}

/// `rtm_flags` bits.
public enum RouteFlags {
    /// `RTNH_F_ONLINK`: the gateway is reachable on the link even if no prefix covers it.
    public static let onlink: UInt32 = 4
}

/// `ifa_flags` / `IFA_FLAGS` bits.
public struct AddressFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let secondary = Self(rawValue: 0x01)
    public static let noDAD = Self(rawValue: 0x02)
    public static let optimistic = Self(rawValue: 0x04)
    public static let dadFailed = Self(rawValue: 0x08)
    public static let homeAddress = Self(rawValue: 0x10)
    public static let deprecated = Self(rawValue: 0x20)
    public static let tentative = Self(rawValue: 0x40)
    public static let permanent = Self(rawValue: 0x80)
    public static let noPrefixRoute = Self(rawValue: 0x200)
}

/// `ndm_state` bits.
public struct NeighborState: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let reachable = Self(rawValue: 0x02)
    public static let stale = Self(rawValue: 0x04)
    public static let noARP = Self(rawValue: 0x40)
    public static let permanent = Self(rawValue: 0x80)
}

/// Address families used in rtnetlink messages.
public enum AddressFamily {
    public static let unspecified: UInt8 = 0  // AF_UNSPEC
    public static let inet: UInt8 = 2  // AF_INET
    public static let bridge: UInt8 = 7  // AF_BRIDGE
    public static let inet6: UInt8 = 10  // AF_INET6
}

/// `ifi_flags` bits.
public struct InterfaceFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let up = Self(rawValue: 0x1)
    public static let broadcast = Self(rawValue: 0x2)
    public static let loopback = Self(rawValue: 0x8)
    public static let pointToPoint = Self(rawValue: 0x10)
    public static let running = Self(rawValue: 0x40)
    public static let noARP = Self(rawValue: 0x80)
    public static let multicast = Self(rawValue: 0x1000)
    public static let lowerUp = Self(rawValue: 0x10000)
}
