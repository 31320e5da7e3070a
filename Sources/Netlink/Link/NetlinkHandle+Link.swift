import Glibc
import IPAddressing
import NetlinkWire

extension NetlinkHandle {
    /// All links in the handle's namespace (`ip link show`).
    public func links() throws(NetlinkError) -> [Link] {
        let request = NetlinkMessage(type: .getLink, flags: [], header: InterfaceInfoHeader())
        return try dump(request, operation: "ip link show").map { (message) throws(NetlinkError) -> Link in try Link(decoding: message) }
    }

    /// The link named `name` (`ip link show NAME`); throws `.notFound` when absent.
    public func link(named name: String) throws(NetlinkError) -> Link {
        let request = NetlinkMessage(type: .getLink, flags: [], header: InterfaceInfoHeader(), attributes: [.string(LinkAttribute.name, name)])
        return try single(request, operation: "ip link show \(name)")
    }

    /// The link with `index` (`ip link show dev INDEX`).
    public func link(index: Int32) throws(NetlinkError) -> Link {
        let request = NetlinkMessage(type: .getLink, flags: [], header: InterfaceInfoHeader(index: index))
        return try single(request, operation: "ip link show index \(index)")
    }

    private func single(_ request: NetlinkMessage, operation: String) throws(NetlinkError) -> Link {
        let replies = try execute(request, operation: operation)
        guard let reply = replies.first(where: { $0.type == .newLink }) else {
            throw NetlinkError(code: .malformedReply, errno: 0, operation: operation, message: "no RTM_NEWLINK in the reply")
        }
        return try Link(decoding: reply)
    }

    /// Creates a veth pair; the peer is created directly in `peer.namespace` under its name.
    public func addVeth(name: String, peer: VethPeer, options: LinkOptions = LinkOptions()) throws(NetlinkError) {
        try execute(batch: [.addVeth(name: name, peer: peer, options: options)] + NetlinkRequest.followUps(creating: name, options: options))
    }

    /// Creates a VXLAN device.
    public func addVXLAN(name: String, _ vxlan: VXLANOptions, options: LinkOptions = LinkOptions()) throws(NetlinkError) {
        try execute(batch: [.addVXLAN(name: name, vxlan, options: options)] + NetlinkRequest.followUps(creating: name, options: options))
    }

    /// Creates a bridge.
    public func addBridge(name: String, options: LinkOptions = LinkOptions()) throws(NetlinkError) {
        try execute(batch: [.addBridge(name: name, options: options)] + NetlinkRequest.followUps(creating: name, options: options))
    }

    /// Creates a dummy device.
    public func addDummy(name: String, options: LinkOptions = LinkOptions()) throws(NetlinkError) {
        try execute(batch: [.addDummy(name: name, options: options)] + NetlinkRequest.followUps(creating: name, options: options))
    }

    public func setUp(index: Int32) throws(NetlinkError) { try execute(.setUp(index: index)) }
    public func setDown(index: Int32) throws(NetlinkError) { try execute(.setDown(index: index)) }
    public func setMTU(index: Int32, _ mtu: UInt32) throws(NetlinkError) { try execute(.setMTU(index: index, mtu)) }
    public func setIPv6AddressGeneration(index: Int32, _ mode: IPv6AddressGeneration) throws(NetlinkError) {
        try execute(.setIPv6AddressGeneration(index: index, mode))
    }
    public func rename(index: Int32, to name: String) throws(NetlinkError) { try execute(.rename(index: index, to: name)) }
    public func setAlias(index: Int32, _ alias: String) throws(NetlinkError) { try execute(.setAlias(index: index, alias)) }
    public func setMaster(index: Int32, _ master: Int32?) throws(NetlinkError) { try execute(.setMaster(index: index, master)) }
    public func setGroup(index: Int32, _ group: UInt32) throws(NetlinkError) { try execute(.setGroup(index: index, group)) }

    /// Moves a link to another namespace, optionally renaming it there.
    public func setNamespace(index: Int32, _ namespace: NetworkNamespace, name: String? = nil) throws(NetlinkError) {
        try execute(.setNamespace(index: index, namespace, name: name))
    }

    public func deleteLink(index: Int32) throws(NetlinkError) { try execute(.deleteLink(index: index)) }
    public func deleteLink(named name: String) throws(NetlinkError) { try execute(.deleteLink(named: name)) }

    /// Deletes every link in `group` with one request.
    public func deleteLinks(group: UInt32) throws(NetlinkError) {
        do {
            try execute(.deleteLinks(group: group))
        } catch where error.code == .notFound {
            // An empty group: nothing to delete.
        }
    }
}

extension Link {
    /// Decodes an `RTM_NEWLINK` message.
    public init(decoding message: NetlinkMessage) throws(NetlinkError) {
        let decoded: (header: InterfaceInfoHeader, attributes: [NetlinkAttribute])
        do throws(NetlinkWireError) { decoded = try message.decode(InterfaceInfoHeader.self) } catch {
            throw NetlinkError(code: .malformedReply, errno: 0, operation: "decode RTM_NEWLINK", message: error.description)
        }
        let attributes = decoded.attributes
        index = decoded.header.index
        flags = decoded.header.flags
        name = attributes.first(LinkAttribute.name)?.stringValue ?? ""
        mtu = attributes.first(LinkAttribute.mtu)?.uint32Value ?? 0
        alias = attributes.first(LinkAttribute.alias)?.stringValue
        masterIndex = attributes.first(LinkAttribute.master)?.int32Value
        group = attributes.first(LinkAttribute.group)?.uint32Value ?? 0
        hardwareAddress = attributes.first(LinkAttribute.address)?.value ?? []
        parentIndex = attributes.first(LinkAttribute.link)?.int32Value
        linkNamespaceID = attributes.first(LinkAttribute.linkNamespaceID)?.int32Value
        kind = nil
        if let info = try? attributes.first(LinkAttribute.linkInfo)?.children(),
           let kindName = info.first(LinkInfoAttribute.kind)?.stringValue {
            let data = (try? info.first(LinkInfoAttribute.data)?.children()) ?? []
            kind = Self.kind(named: kindName, data: data)
        }
    }

    static func kind(named name: String, data: [NetlinkAttribute]) -> LinkKind {
        switch name {
        case "veth": return .veth
        case "bridge": return .bridge
        case "dummy": return .dummy
        case "vxlan":
            var options = VXLANOptions(vni: data.first(VXLANAttribute.id)?.uint32Value ?? 0)
            options.port = data.first(VXLANAttribute.port)?.uint16BigEndianValue ?? 0
            options.learning = (data.first(VXLANAttribute.learning)?.uint8Value ?? 0) != 0
            options.underlayIndex = data.first(VXLANAttribute.link)?.int32Value
            options.ttl = data.first(VXLANAttribute.ttl)?.uint8Value
            options.local = (data.first(VXLANAttribute.local) ?? data.first(VXLANAttribute.local6)).flatMap { IPAddress(bytes: $0.value) }
            options.remote = (data.first(VXLANAttribute.group) ?? data.first(VXLANAttribute.group6)).flatMap { IPAddress(bytes: $0.value) }
            return .vxlan(options)
        default: return .other(name)
        }
    }
}
