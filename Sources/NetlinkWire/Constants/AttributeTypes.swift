/// Attribute type numbers from the kernel's uapi headers, grouped by message family.
/// `Tests/NetlinkWireTests/ConstantsTests.swift` checks each against the C headers.
public enum LinkAttribute {
    public static let address: UInt16 = 1  // IFLA_ADDRESS
    public static let broadcast: UInt16 = 2  // IFLA_BROADCAST
    public static let name: UInt16 = 3  // IFLA_IFNAME
    public static let mtu: UInt16 = 4  // IFLA_MTU
    public static let link: UInt16 = 5  // IFLA_LINK
    public static let master: UInt16 = 10  // IFLA_MASTER
    public static let operationalState: UInt16 = 16  // IFLA_OPERSTATE
    public static let linkInfo: UInt16 = 18  // IFLA_LINKINFO
    public static let namespacePID: UInt16 = 19  // IFLA_NET_NS_PID
    public static let alias: UInt16 = 20  // IFLA_IFALIAS
    public static let addressFamilySpecific: UInt16 = 26  // IFLA_AF_SPEC (nested by address family)
    public static let group: UInt16 = 27  // IFLA_GROUP
    public static let namespaceFD: UInt16 = 28  // IFLA_NET_NS_FD
    public static let linkNamespaceID: UInt16 = 37  // IFLA_LINK_NETNSID
    public static let targetNamespaceID: UInt16 = 46  // IFLA_TARGET_NETNSID
}

/// Inside `IFLA_AF_SPEC` → `AF_INET6`.
public enum Inet6LinkAttribute {
    public static let addressGenerationMode: UInt16 = 8  // IFLA_INET6_ADDR_GEN_MODE (u8)
}

public enum LinkInfoAttribute {
    public static let kind: UInt16 = 1  // IFLA_INFO_KIND
    public static let data: UInt16 = 2  // IFLA_INFO_DATA
}

public enum VethAttribute {
    public static let peer: UInt16 = 1  // VETH_INFO_PEER
}

public enum VXLANAttribute {
    public static let id: UInt16 = 1  // IFLA_VXLAN_ID
    public static let group: UInt16 = 2  // IFLA_VXLAN_GROUP (remote, IPv4)
    public static let link: UInt16 = 3  // IFLA_VXLAN_LINK (underlay device)
    public static let local: UInt16 = 4  // IFLA_VXLAN_LOCAL
    public static let ttl: UInt16 = 5  // IFLA_VXLAN_TTL
    public static let learning: UInt16 = 7  // IFLA_VXLAN_LEARNING
    public static let port: UInt16 = 15  // IFLA_VXLAN_PORT (network order)
    public static let group6: UInt16 = 16  // IFLA_VXLAN_GROUP6
    public static let local6: UInt16 = 17  // IFLA_VXLAN_LOCAL6
}

public enum AddressAttribute {
    public static let address: UInt16 = 1  // IFA_ADDRESS
    public static let local: UInt16 = 2  // IFA_LOCAL
    public static let label: UInt16 = 3  // IFA_LABEL
    public static let broadcast: UInt16 = 4  // IFA_BROADCAST
    public static let cacheInfo: UInt16 = 6  // IFA_CACHEINFO
    public static let flags: UInt16 = 8  // IFA_FLAGS
}

public enum RouteAttribute {
    public static let destination: UInt16 = 1  // RTA_DST
    public static let source: UInt16 = 2  // RTA_SRC
    public static let outputInterface: UInt16 = 4  // RTA_OIF
    public static let gateway: UInt16 = 5  // RTA_GATEWAY
    public static let priority: UInt16 = 6  // RTA_PRIORITY
    public static let preferredSource: UInt16 = 7  // RTA_PREFSRC
    public static let table: UInt16 = 15  // RTA_TABLE
}

public enum NeighborAttribute {
    public static let destination: UInt16 = 1  // NDA_DST
    public static let linkLayerAddress: UInt16 = 2  // NDA_LLADDR
}

/// Attributes of an extended acknowledgement (`NLMSGERR_ATTR_*`).
public enum ErrorAttribute {
    public static let message: UInt16 = 1  // NLMSGERR_ATTR_MSG
    public static let offset: UInt16 = 2  // NLMSGERR_ATTR_OFFS
}

/// Flag bit marking a nested attribute (`NLA_F_NESTED`).
public let netlinkNestedFlag: UInt16 = 0x8000
/// Flag bit marking an attribute in network byte order (`NLA_F_NET_BYTEORDER`).
public let netlinkNetworkByteOrderFlag: UInt16 = 0x4000
