import IPAddressing
import NetlinkWire

/// A network interface as the kernel reports it (`ip link show`).
public struct Link: Sendable, Hashable {
    public var index: Int32
    public var name: String
    /// The link kind from `IFLA_LINKINFO` (`veth`, `vxlan`, …), `nil` for devices without one (e.g. `lo`).
    public var kind: LinkKind?
    public var mtu: UInt32
    public var flags: InterfaceFlags
    public var alias: String?
    /// Index of the bridge or bond this link is enslaved to.
    public var masterIndex: Int32?
    public var group: UInt32
    public var hardwareAddress: [UInt8]
    /// `IFLA_LINK`: for veth the peer's index, for VXLAN the underlay's (possibly in another namespace).
    public var parentIndex: Int32?
    /// `IFLA_LINK_NETNSID`: the namespace id of the parent/peer when it lives elsewhere.
    public var linkNamespaceID: Int32?

    public var isUp: Bool { flags.contains(.up) }

    /// The hardware address as `aa:bb:cc:dd:ee:ff`.
    public var hardwareAddressDescription: String {
        hardwareAddress.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}

/// The kinds of link this library creates and recognises.
public enum LinkKind: Sendable, Hashable {
    case veth
    case vxlan(VXLANOptions)
    case bridge
    case dummy
    /// Any other kind, by its kernel name.
    case other(String)

    /// The kernel's name for the kind (`IFLA_INFO_KIND`).
    public var name: String {
        switch self {
        case .veth: "veth"
        case .vxlan: "vxlan"
        case .bridge: "bridge"
        case .dummy: "dummy"
        case .other(let name): name
        }
    }
}

/// VXLAN parameters (`ip link add NAME type vxlan id VNI …`).
public struct VXLANOptions: Sendable, Hashable {
    /// The 24-bit VXLAN network identifier.
    public var vni: UInt32
    /// Local tunnel address.
    public var local: IPAddress?
    /// Remote tunnel address (unicast peer).
    public var remote: IPAddress?
    /// UDP destination port (4789 by default).
    public var port: UInt16
    /// Index of the underlay device.
    public var underlayIndex: Int32?
    /// Whether the device learns remote MACs from traffic (off for point-to-point tunnels).
    public var learning: Bool
    public var ttl: UInt8?

    public init(vni: UInt32, local: IPAddress? = nil, remote: IPAddress? = nil, port: UInt16 = 4789,
                underlayIndex: Int32? = nil, learning: Bool = false, ttl: UInt8? = nil) {
        self.vni = vni
        self.local = local
        self.remote = remote
        self.port = port
        self.underlayIndex = underlayIndex
        self.learning = learning
        self.ttl = ttl
    }
}

/// The far end of a veth pair being created: named, and created directly inside `namespace`
/// (one `RTM_NEWLINK`; moving an existing end costs the kernel ~18 ms).
///
/// The peer cannot be brought up in the creating request: the kernel configures it before
/// the pair is linked and answers ENOTCONN. Set it up afterwards from its own namespace.
public struct VethPeer: Sendable {
    public var name: String
    public var namespace: NetworkNamespace?
    public var mtu: UInt32?
    public var hardwareAddress: [UInt8]?
    /// Ask for this interface index in the peer's namespace (the kernel answers EEXIST — EBUSY on older kernels — when it
    /// is taken). Knowing the index up front lets follow-up requests ride in the same batch.
    public var index: Int32?

    public init(name: String, namespace: NetworkNamespace? = nil, mtu: UInt32? = nil, hardwareAddress: [UInt8]? = nil, index: Int32? = nil) {
        self.name = name
        self.namespace = namespace
        self.mtu = mtu
        self.hardwareAddress = hardwareAddress
        self.index = index
    }
}

/// Attributes common to every link being created.
/// `IN6_ADDR_GEN_MODE_*`: how a link gets its IPv6 link-local address (`ip link … addrgenmode`).
public enum IPv6AddressGeneration: UInt8, Sendable, CustomStringConvertible {
    case eui64 = 0
    case none = 1
    case stablePrivacy = 2
    case random = 3

    public var description: String {
        switch self {
        case .eui64: "eui64"
        case .none: "none"
        case .stablePrivacy: "stable_secret"
        case .random: "random"
        }
    }
}

public struct LinkOptions: Sendable {
    public var mtu: UInt32?
    public var up: Bool
    public var group: UInt32?
    public var alias: String?
    public var masterIndex: Int32?
    /// Create the link directly inside this namespace instead of the handle's.
    public var namespace: NetworkNamespace?
    public var hardwareAddress: [UInt8]?
    /// Ask for this interface index (the kernel answers EEXIST, or EBUSY on older kernels, when it is taken), so requests
    /// about the new link can be batched with its creation.
    public var index: Int32?

    public init(mtu: UInt32? = nil, up: Bool = false, group: UInt32? = nil, alias: String? = nil,
                masterIndex: Int32? = nil, namespace: NetworkNamespace? = nil, hardwareAddress: [UInt8]? = nil,
                index: Int32? = nil) {
        self.index = index
        self.mtu = mtu
        self.up = up
        self.group = group
        self.alias = alias
        self.masterIndex = masterIndex
        self.namespace = namespace
        self.hardwareAddress = hardwareAddress
    }
}
