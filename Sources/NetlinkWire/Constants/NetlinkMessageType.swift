/// `nlmsg_type`: control types and the rtnetlink request types this library speaks.
public struct NetlinkMessageType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noop = Self(rawValue: 1)
    public static let error = Self(rawValue: 2)
    public static let done = Self(rawValue: 3)
    public static let overrun = Self(rawValue: 4)
    public static let newLink = Self(rawValue: 16)
    public static let deleteLink = Self(rawValue: 17)
    public static let getLink = Self(rawValue: 18)
    public static let setLink = Self(rawValue: 19)
    public static let newAddress = Self(rawValue: 20)
    public static let deleteAddress = Self(rawValue: 21)
    public static let getAddress = Self(rawValue: 22)
    public static let newRoute = Self(rawValue: 24)
    public static let deleteRoute = Self(rawValue: 25)
    public static let getRoute = Self(rawValue: 26)
    public static let newNeighbor = Self(rawValue: 28)
    public static let deleteNeighbor = Self(rawValue: 29)
    public static let getNeighbor = Self(rawValue: 30)

    public var description: String {
        switch self {
        case .noop: "NLMSG_NOOP"
        case .error: "NLMSG_ERROR"
        case .done: "NLMSG_DONE"
        case .overrun: "NLMSG_OVERRUN"
        case .newLink: "RTM_NEWLINK"
        case .deleteLink: "RTM_DELLINK"
        case .getLink: "RTM_GETLINK"
        case .setLink: "RTM_SETLINK"
        case .newAddress: "RTM_NEWADDR"
        case .deleteAddress: "RTM_DELADDR"
        case .getAddress: "RTM_GETADDR"
        case .newRoute: "RTM_NEWROUTE"
        case .deleteRoute: "RTM_DELROUTE"
        case .getRoute: "RTM_GETROUTE"
        case .newNeighbor: "RTM_NEWNEIGH"
        case .deleteNeighbor: "RTM_DELNEIGH"
        case .getNeighbor: "RTM_GETNEIGH"
        default: "type \(rawValue)"
        }
    }
}

/// `nlmsg_flags`.
public struct NetlinkMessageFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let request = Self(rawValue: 0x1)
    public static let multi = Self(rawValue: 0x2)
    public static let ack = Self(rawValue: 0x4)
    public static let echo = Self(rawValue: 0x8)
    public static let dumpInterrupted = Self(rawValue: 0x10)
    // GET modifiers
    public static let root = Self(rawValue: 0x100)
    public static let match = Self(rawValue: 0x200)
    public static let dump: Self = [.root, .match]
    // NEW modifiers
    public static let replace = Self(rawValue: 0x100)
    public static let exclusive = Self(rawValue: 0x200)
    public static let create = Self(rawValue: 0x400)
    public static let append = Self(rawValue: 0x800)
    // ACK modifiers
    public static let capped = Self(rawValue: 0x100)
    public static let ackTLVs = Self(rawValue: 0x200)
}
