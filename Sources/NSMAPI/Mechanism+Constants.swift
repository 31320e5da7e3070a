/// Mechanism classes (`Mechanism.cls`) on the NSM wire.
public enum MechanismClass {
    /// Plumbing within one node (client ↔ forwarder ↔ local endpoint).
    public static let local = "LOCAL"
    /// Plumbing between nodes (forwarder ↔ forwarder).
    public static let remote = "REMOTE"
}

/// Mechanism types (`Mechanism.type`) on the NSM wire.
public enum MechanismType {
    public static let kernel = "KERNEL"
    public static let vxlan = "VXLAN"
    public static let wireguard = "WIREGUARD"
    public static let ipsec = "IPSEC"
    public static let memif = "MEMIF"
    public static let vfio = "VFIO"
    public static let vlan = "VLAN"
    public static let srv6 = "SRV6"
    public static let noop = "NOOP"
}

/// Keys of `Mechanism.parameters` on the NSM wire (spelling as upstream).
public enum MechanismParameterKey {
    /// KERNEL: interface name (Linux limit 15 bytes).
    public static let interfaceName = "name"
    /// KERNEL: network namespace, `inode://<dev>/<ino>` on the wire or a `file://` path locally.
    public static let inodeURL = "inodeURL"
    /// Tunnels: source (client-side) tunnel address.
    public static let srcIP = "src_ip"
    /// Tunnels: destination (server-side) tunnel address.
    public static let dstIP = "dst_ip"
    public static let srcPort = "src_port"
    public static let dstPort = "dst_port"
    public static let origSrcIP = "orig_src_ip"
    public static let origDstIP = "orig_dst_ip"
    /// Tunnels: usable MTU inside the tunnel.
    public static let mtu = "MTU"
    /// VXLAN: 24-bit virtual network identifier, decimal.
    public static let vni = "vni"
}

/// Payload kinds of a network service (`NetworkService.payload`, `Connection.payload`).
public enum Payload {
    public static let ethernet = "ETHERNET"
    public static let ip = "IP"
}
