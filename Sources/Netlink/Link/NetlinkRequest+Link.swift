import IPAddressing
import NetlinkWire

extension NetlinkRequest {
    static let createFlags: NetlinkMessageFlags = [.create, .exclusive]

    /// `ip link add NAME type veth peer name PEER [netns NS]`, both ends optionally up.
    public static func addVeth(name: String, peer: VethPeer, options: LinkOptions = LinkOptions()) -> NetlinkRequest {
        var peerWriter = ByteWriter()
        InterfaceInfoHeader(index: peer.index ?? 0).encode(into: &peerWriter)
        var peerAttributes: [NetlinkAttribute] = [.string(LinkAttribute.name, peer.name)]
        if let mtu = peer.mtu { peerAttributes.append(.uint32(LinkAttribute.mtu, mtu)) }
        if let namespace = peer.namespace { peerAttributes.append(.uint32(LinkAttribute.namespaceFD, UInt32(bitPattern: namespace.descriptor))) }
        if let mac = peer.hardwareAddress { peerAttributes.append(.bytes(LinkAttribute.address, mac)) }
        for attribute in peerAttributes { attribute.encode(into: &peerWriter) }
        let data = NetlinkAttribute.nested(VethAttribute.peer, []).with(value: peerWriter.bytes)
        var command = "ip link add \(name) type veth peer name \(peer.name)"
        if let namespace = peer.namespace { command += " netns \(namespace.path)" }
        return addLink(name: name, kind: "veth", data: [data], options: options, operation: command)
    }

    /// `ip link add NAME type vxlan id VNI [local IP] [remote IP] dstport PORT [dev UNDERLAY] nolearning`.
    public static func addVXLAN(name: String, _ vxlan: VXLANOptions, options: LinkOptions = LinkOptions()) -> NetlinkRequest {
        var data: [NetlinkAttribute] = [
            .uint32(VXLANAttribute.id, vxlan.vni),
            .uint16BigEndian(VXLANAttribute.port, vxlan.port),
            .uint8(VXLANAttribute.learning, vxlan.learning ? 1 : 0),
        ]
        switch vxlan.local {
        case .v4(let a)?: data.append(.bytes(VXLANAttribute.local, a.bytes))
        case .v6(let a)?: data.append(.bytes(VXLANAttribute.local6, a.bytes))
        case nil: break
        }
        switch vxlan.remote {
        case .v4(let a)?: data.append(.bytes(VXLANAttribute.group, a.bytes))
        case .v6(let a)?: data.append(.bytes(VXLANAttribute.group6, a.bytes))
        case nil: break
        }
        if let underlay = vxlan.underlayIndex { data.append(.uint32(VXLANAttribute.link, UInt32(bitPattern: underlay))) }
        if let ttl = vxlan.ttl { data.append(.uint8(VXLANAttribute.ttl, ttl)) }
        var command = "ip link add \(name) type vxlan id \(vxlan.vni) dstport \(vxlan.port)"
        if let local = vxlan.local { command += " local \(local)" }
        if let remote = vxlan.remote { command += " remote \(remote)" }
        return addLink(name: name, kind: "vxlan", data: data, options: options, operation: command)
    }

    /// `ip link add NAME type bridge`.
    public static func addBridge(name: String, options: LinkOptions = LinkOptions()) -> NetlinkRequest {
        addLink(name: name, kind: "bridge", data: nil, options: options, operation: "ip link add \(name) type bridge")
    }

    /// `ip link add NAME type dummy`.
    public static func addDummy(name: String, options: LinkOptions = LinkOptions()) -> NetlinkRequest {
        addLink(name: name, kind: "dummy", data: nil, options: options, operation: "ip link add \(name) type dummy")
    }

    static func addLink(name: String, kind: String, data: [NetlinkAttribute]?, options: LinkOptions, operation: String) -> NetlinkRequest {
        var attributes: [NetlinkAttribute] = [.string(LinkAttribute.name, name)]
        attributes += commonAttributes(options)
        var info: [NetlinkAttribute] = [.string(LinkInfoAttribute.kind, kind)]
        if let data { info.append(.nested(LinkInfoAttribute.data, data)) }
        attributes.append(.nested(LinkAttribute.linkInfo, info))
        let header = InterfaceInfoHeader(index: options.index ?? 0, flags: options.up ? .up : [], change: options.up ? .up : [])
        return NetlinkRequest(
            NetlinkMessage(type: .newLink, flags: createFlags, header: header, attributes: attributes),
            operation: operation + (options.up ? " up" : ""))
    }

    static func commonAttributes(_ options: LinkOptions) -> [NetlinkAttribute] {
        var attributes: [NetlinkAttribute] = []
        if let mtu = options.mtu { attributes.append(.uint32(LinkAttribute.mtu, mtu)) }
        if let group = options.group { attributes.append(.uint32(LinkAttribute.group, group)) }
        if let master = options.masterIndex { attributes.append(.uint32(LinkAttribute.master, UInt32(bitPattern: master))) }
        if let namespace = options.namespace { attributes.append(.uint32(LinkAttribute.namespaceFD, UInt32(bitPattern: namespace.descriptor))) }
        if let mac = options.hardwareAddress { attributes.append(.bytes(LinkAttribute.address, mac)) }
        return attributes
    }

    /// Changes attributes of an existing link (`ip link set dev INDEX …`).
    static func setLink(index: Int32, flags: InterfaceFlags = [], change: InterfaceFlags = [], attributes: [NetlinkAttribute] = [], operation: String) -> NetlinkRequest {
        let header = InterfaceInfoHeader(index: index, flags: flags, change: change)
        return NetlinkRequest(NetlinkMessage(type: .newLink, flags: [], header: header, attributes: attributes), operation: operation)
    }

    /// `ip link set INDEX up`.
    public static func setUp(index: Int32) -> NetlinkRequest {
        setLink(index: index, flags: .up, change: .up, operation: "ip link set \(index) up")
    }

    /// `ip link set INDEX down`.
    public static func setDown(index: Int32) -> NetlinkRequest {
        setLink(index: index, flags: [], change: .up, operation: "ip link set \(index) down")
    }

    /// `ip link set INDEX mtu MTU`.
    public static func setMTU(index: Int32, _ mtu: UInt32) -> NetlinkRequest {
        setLink(index: index, attributes: [.uint32(LinkAttribute.mtu, mtu)], operation: "ip link set \(index) mtu \(mtu)")
    }

    /// `ip link set INDEX addrgenmode MODE`: how the kernel makes the link's IPv6 link-local
    /// address when it goes up (`none`: no address, so no DAD and no MLD reports for it).
    public static func setIPv6AddressGeneration(index: Int32, _ mode: IPv6AddressGeneration) -> NetlinkRequest {
        let inet6 = NetlinkAttribute.nested(UInt16(AddressFamily.inet6), [.uint8(Inet6LinkAttribute.addressGenerationMode, mode.rawValue)])
        return setLink(index: index, attributes: [.nested(LinkAttribute.addressFamilySpecific, [inet6])],
                       operation: "ip link set \(index) addrgenmode \(mode)")
    }

    /// `ip link set INDEX name NAME`.
    public static func rename(index: Int32, to name: String) -> NetlinkRequest {
        setLink(index: index, attributes: [.string(LinkAttribute.name, name)], operation: "ip link set \(index) name \(name)")
    }

    /// Requests that must follow a creation because the kernel ignores them in `RTM_NEWLINK`
    /// create (the alias).
    public static func followUps(creating name: String, options: LinkOptions) -> [NetlinkRequest] {
        guard let alias = options.alias else { return [] }
        return [setAlias(named: name, alias)]
    }

    /// `ip link set NAME alias ALIAS`, addressing the link by name.
    public static func setAlias(named name: String, _ alias: String) -> NetlinkRequest {
        let message = NetlinkMessage(
            type: .newLink, flags: [], header: InterfaceInfoHeader(),
            attributes: [.string(LinkAttribute.name, name), .string(LinkAttribute.alias, alias)])
        return NetlinkRequest(message, operation: "ip link set \(name) alias \(alias)")
    }

    /// `ip link set INDEX alias ALIAS`.
    public static func setAlias(index: Int32, _ alias: String) -> NetlinkRequest {
        setLink(index: index, attributes: [.string(LinkAttribute.alias, alias)], operation: "ip link set \(index) alias \(alias)")
    }

    /// `ip link set INDEX master MASTER` (or `nomaster` for `nil`).
    public static func setMaster(index: Int32, _ master: Int32?) -> NetlinkRequest {
        setLink(index: index, attributes: [.uint32(LinkAttribute.master, UInt32(bitPattern: master ?? 0))],
                operation: "ip link set \(index) " + (master.map { "master \($0)" } ?? "nomaster"))
    }

    /// `ip link set INDEX group GROUP`.
    public static func setGroup(index: Int32, _ group: UInt32) -> NetlinkRequest {
        setLink(index: index, attributes: [.uint32(LinkAttribute.group, group)], operation: "ip link set \(index) group \(group)")
    }

    /// `ip link set INDEX netns NS` (costs the kernel ~18 ms; prefer creating links in place).
    public static func setNamespace(index: Int32, _ namespace: NetworkNamespace, name: String? = nil) -> NetlinkRequest {
        var attributes: [NetlinkAttribute] = [.uint32(LinkAttribute.namespaceFD, UInt32(bitPattern: namespace.descriptor))]
        if let name { attributes.append(.string(LinkAttribute.name, name)) }
        return setLink(index: index, attributes: attributes, operation: "ip link set \(index) netns \(namespace.path)")
    }

    /// `ip link delete INDEX`.
    public static func deleteLink(index: Int32) -> NetlinkRequest {
        NetlinkRequest(
            NetlinkMessage(type: .deleteLink, flags: [], header: InterfaceInfoHeader(index: index)),
            operation: "ip link delete \(index)")
    }

    /// `ip link delete NAME`.
    public static func deleteLink(named name: String) -> NetlinkRequest {
        NetlinkRequest(
            NetlinkMessage(type: .deleteLink, flags: [], header: InterfaceInfoHeader(), attributes: [.string(LinkAttribute.name, name)]),
            operation: "ip link delete \(name)")
    }

    /// `ip link delete group GROUP`: every link of the group in one call, one kernel
    /// teardown instead of one per link.
    public static func deleteLinks(group: UInt32) -> NetlinkRequest {
        NetlinkRequest(
            NetlinkMessage(type: .deleteLink, flags: [], header: InterfaceInfoHeader(), attributes: [.uint32(LinkAttribute.group, group)]),
            operation: "ip link delete group \(group)")
    }
}

extension NetlinkAttribute {
    /// The same attribute with another raw value (for payloads that are a header plus attributes).
    func with(value: [UInt8]) -> NetlinkAttribute {
        NetlinkAttribute(type: type, value: value, nested: isNested)
    }
}
