import CNetlink
import NetlinkWire
import Testing

/// NetlinkWire spells kernel numbers as Swift constants; these must equal the C headers.
@Suite("Constants match the kernel headers")
struct ConstantsTests {
    @Test("message types and flags")
    func messageTypes() {
        #expect(NetlinkMessageType.newLink.rawValue == UInt16(RTM_NEWLINK))
        #expect(NetlinkMessageType.deleteLink.rawValue == UInt16(RTM_DELLINK))
        #expect(NetlinkMessageType.getLink.rawValue == UInt16(RTM_GETLINK))
        #expect(NetlinkMessageType.newAddress.rawValue == UInt16(RTM_NEWADDR))
        #expect(NetlinkMessageType.getAddress.rawValue == UInt16(RTM_GETADDR))
        #expect(NetlinkMessageType.newRoute.rawValue == UInt16(RTM_NEWROUTE))
        #expect(NetlinkMessageType.deleteRoute.rawValue == UInt16(RTM_DELROUTE))
        #expect(NetlinkMessageType.newNeighbor.rawValue == UInt16(RTM_NEWNEIGH))
        #expect(NetlinkMessageType.error.rawValue == UInt16(NLMSG_ERROR))
        #expect(NetlinkMessageType.done.rawValue == UInt16(NLMSG_DONE))
        #expect(NetlinkMessageFlags.dump.rawValue == UInt16(NLM_F_DUMP))
        #expect(NetlinkMessageFlags.create.rawValue == UInt16(NLM_F_CREATE))
        #expect(NetlinkMessageFlags.exclusive.rawValue == UInt16(NLM_F_EXCL))
        #expect(NetlinkMessageFlags.replace.rawValue == UInt16(NLM_F_REPLACE))
        #expect(NetlinkMessageFlags.ackTLVs.rawValue == UInt16(NLM_F_ACK_TLVS))
        #expect(NetlinkMessageFlags.capped.rawValue == UInt16(NLM_F_CAPPED))
        #expect(NetlinkMessageFlags.dumpInterrupted.rawValue == UInt16(NLM_F_DUMP_INTR))
    }

    @Test("attribute numbers")
    func attributes() {
        #expect(LinkAttribute.name == UInt16(IFLA_IFNAME))
        #expect(LinkAttribute.mtu == UInt16(IFLA_MTU))
        #expect(LinkAttribute.link == UInt16(IFLA_LINK))
        #expect(LinkAttribute.master == UInt16(IFLA_MASTER))
        #expect(LinkAttribute.linkInfo == UInt16(IFLA_LINKINFO))
        #expect(LinkAttribute.alias == UInt16(IFLA_IFALIAS))
        #expect(LinkAttribute.group == UInt16(IFLA_GROUP))
        #expect(LinkAttribute.namespaceFD == UInt16(IFLA_NET_NS_FD))
        #expect(LinkAttribute.linkNamespaceID == UInt16(IFLA_LINK_NETNSID))
        #expect(LinkAttribute.targetNamespaceID == UInt16(IFLA_TARGET_NETNSID))
        #expect(LinkInfoAttribute.kind == UInt16(IFLA_INFO_KIND))
        #expect(LinkInfoAttribute.data == UInt16(IFLA_INFO_DATA))
        #expect(VethAttribute.peer == UInt16(VETH_INFO_PEER))
        #expect(VXLANAttribute.id == UInt16(IFLA_VXLAN_ID))
        #expect(VXLANAttribute.group == UInt16(IFLA_VXLAN_GROUP))
        #expect(VXLANAttribute.link == UInt16(IFLA_VXLAN_LINK))
        #expect(VXLANAttribute.local == UInt16(IFLA_VXLAN_LOCAL))
        #expect(VXLANAttribute.learning == UInt16(IFLA_VXLAN_LEARNING))
        #expect(VXLANAttribute.port == UInt16(IFLA_VXLAN_PORT))
        #expect(VXLANAttribute.group6 == UInt16(IFLA_VXLAN_GROUP6))
        #expect(VXLANAttribute.local6 == UInt16(IFLA_VXLAN_LOCAL6))
        #expect(AddressAttribute.local == UInt16(IFA_LOCAL))
        #expect(AddressAttribute.flags == UInt16(IFA_FLAGS))
        #expect(RouteAttribute.gateway == UInt16(RTA_GATEWAY.rawValue))
        #expect(RouteAttribute.outputInterface == UInt16(RTA_OIF.rawValue))
        #expect(RouteAttribute.table == UInt16(RTA_TABLE.rawValue))
        #expect(RouteAttribute.preferredSource == UInt16(RTA_PREFSRC.rawValue))
        #expect(NeighborAttribute.linkLayerAddress == UInt16(NDA_LLADDR))
        #expect(ErrorAttribute.message == UInt16(NLMSGERR_ATTR_MSG.rawValue))
        #expect(netlinkNestedFlag == UInt16(NLA_F_NESTED))
    }

    @Test("struct sizes")
    func sizes() {
        #expect(InterfaceInfoHeader.size == MemoryLayout<ifinfomsg>.size)
        #expect(AddressHeader.size == MemoryLayout<ifaddrmsg>.size)
        #expect(RouteHeader.size == MemoryLayout<rtmsg>.size)
        #expect(NeighborHeader.size == MemoryLayout<ndmsg>.size)
        #expect(NetlinkMessage.headerSize == MemoryLayout<nlmsghdr>.size)
    }
}
