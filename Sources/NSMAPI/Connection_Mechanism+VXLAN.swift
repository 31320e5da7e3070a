import IPAddressing

extension Connection_Mechanism {
    /// The default VXLAN UDP port (IANA).
    public static let defaultVXLANPort: UInt16 = 4789

    /// A REMOTE/VXLAN mechanism preference as the client side of a tunnel offers it:
    /// its own tunnel address and port. The server side fills in `dst_*` and `vni`.
    public static func vxlan(sourceIP: IPAddress, sourcePort: UInt16 = defaultVXLANPort) -> Self {
        var mechanism = Connection_Mechanism()
        mechanism.cls = MechanismClass.remote
        mechanism.type = MechanismType.vxlan
        mechanism.vxlanSourceIP = sourceIP
        mechanism.vxlanSourcePort = sourcePort
        return mechanism
    }

    /// Whether this is a VXLAN mechanism.
    public var isVXLAN: Bool { type == MechanismType.vxlan }

    /// `src_ip`: the client-side tunnel address.
    public var vxlanSourceIP: IPAddress? {
        get { address(MechanismParameterKey.srcIP) }
        set { parameters[MechanismParameterKey.srcIP] = newValue?.description }
    }

    /// `dst_ip`: the server-side tunnel address.
    public var vxlanDestinationIP: IPAddress? {
        get { address(MechanismParameterKey.dstIP) }
        set { parameters[MechanismParameterKey.dstIP] = newValue?.description }
    }

    /// `orig_src_ip`, when a NAT rewrote `src_ip`.
    public var vxlanOriginalSourceIP: IPAddress? { address(MechanismParameterKey.origSrcIP) }

    /// `orig_dst_ip`, when a NAT rewrote `dst_ip`.
    public var vxlanOriginalDestinationIP: IPAddress? { address(MechanismParameterKey.origDstIP) }

    /// `src_port`.
    public var vxlanSourcePort: UInt16? {
        get { parameters[MechanismParameterKey.srcPort].flatMap { UInt16($0) } }
        set { parameters[MechanismParameterKey.srcPort] = newValue.map { String($0) } }
    }

    /// `dst_port`.
    public var vxlanDestinationPort: UInt16? {
        get { parameters[MechanismParameterKey.dstPort].flatMap { UInt16($0) } }
        set { parameters[MechanismParameterKey.dstPort] = newValue.map { String($0) } }
    }

    /// `vni`: the 24-bit VXLAN network identifier; `nil` when absent, zero, or out of range.
    public var vni: UInt32? {
        get {
            guard let value = parameters[MechanismParameterKey.vni].flatMap({ UInt32($0) }),
                  value > 0, value < 1 << 24 else { return nil }
            return value
        }
        set { parameters[MechanismParameterKey.vni] = newValue.map { String($0) } }
    }

    /// `MTU`: the MTU usable inside the tunnel.
    public var tunnelMTU: UInt32? {
        get { parameters[MechanismParameterKey.mtu].flatMap { UInt32($0) } }
        set { parameters[MechanismParameterKey.mtu] = newValue.map { String($0) } }
    }

    /// The VXLAN encapsulation overhead subtracted from the underlay MTU, as upstream:
    /// 54 bytes over IPv4, 74 over IPv6.
    public static func vxlanOverhead(for family: IPFamily) -> UInt32 { family == .v4 ? 54 : 74 }

    private func address(_ key: String) -> IPAddress? {
        parameters[key].flatMap { IPAddress($0) }
    }
}
