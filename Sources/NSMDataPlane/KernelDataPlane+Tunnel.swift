import IPAddressing
import Logging
import Netlink
import NetlinkWire
import NSMAPI
import NSMCore
import NSMElements

/// REMOTE: the VXLAN device of one side of a connection, created from the node's namespace (its
/// UDP socket and underlay stay the node's) directly inside the pod's or endpoint's namespace.
extension KernelDataPlane {
    func connectTunnel(
        _ plumbing: Plumbing, kernel: Connection_Mechanism, tunnel: Connection_Mechanism, side: ConnectionContextApplier.Side, pod: PreparedPod? = nil
    ) throws {
        let name = try interfaceName(kernel, side: side == .client ? "client" : "endpoint")
        let (target, handle) = try side == .client ? podSide(kernel, prepared: pod) : endpointSide(kernel).pair
        guard let vni = tunnel.vni, let source = tunnel.vxlanSourceIP, let destination = tunnel.vxlanDestinationIP else {
            throw NSMError.invalidArgument("VXLAN mechanism lacks vni, src_ip or dst_ip: \(tunnel.parameters)")
        }
        // The client side's tunnel goes from src to dst; the endpoint side's the other way round.
        let (local, remote) = side == .client ? (source, destination) : (destination, source)
        let port = (side == .client ? tunnel.vxlanDestinationPort : tunnel.vxlanSourcePort) ?? Connection_Mechanism.defaultVXLANPort
        let mtu = plumbing.context.mtu == 0 ? tunnel.tunnelMTU : plumbing.context.mtu
        let options = VXLANOptions(vni: vni, local: local, remote: remote, port: port, learning: false)
        if side == .client { try PodNamespaceClaims.check(plumbing.context, interface: name, handle: handle) }
        let alias = side == .client ? PodNamespaceClaims.clientAlias(plumbing.connectionID) : String("server-\(plumbing.connectionID)".prefix(64))
        let apply = { () throws in
            try ConnectionContextApplier.apply(plumbing.context, side: side, interface: name, handle: handle, namespace: target, alias: alias)
        }
        // The same MAC whenever this side is made again (a refresh after the device was deleted,
        // a restarted forwarder): the other side's neighbour entry stays right, or it would send
        // to the old MAC — dropped — until the entry goes stale, tens of seconds later.
        let mac = Self.tunnelMAC(connectionID: plumbing.connectionID, side: side)
        let create = { () throws(NetlinkError) in
            try self.node.addVXLAN(name: name, options, options: LinkOptions(mtu: mtu, namespace: target, hardwareAddress: mac))
        }
        let described: Logger.Metadata = [
            "nsm.connection.id": "\(plumbing.connectionID)", "interface": "\(name)", "side": "\(side)", "vni": "\(vni)", "remote": "\(remote)",
        ]
        guard let failure = Self.failure(of: create) else {
            logger.debug("tunnel end made", metadata: described)
            try Self.removing(name, in: handle, onFailureOf: apply)
            return
        }
        guard failure.code == .exists else { throw failure }
        guard let existing = try Self.link(named: name, in: handle) else {
            // Not our device: the kernel refused the VNI (one VXLAN per VNI and port per underlay).
            let holder = (try? handle.links())?.first { link in
                if case .vxlan(let read) = link.kind { return read.vni == vni }
                return false
            }
            throw NSMError.failedPrecondition(
                "VXLAN \(name): VNI \(vni) on port \(port) is already used by another tunnel on this node's underlay"
                    + (holder.map { " (\($0.name), alias \($0.alias ?? "none"), in the same namespace)" } ?? ""))
        }
        var sameTunnel = false
        if case .vxlan(let read) = existing.kind { sameTunnel = read.vni == vni }
        guard sameTunnel else {
            guard existing.alias == alias else {
                throw NSMError.failedPrecondition("interface \(name) exists in the target namespace and is not this connection's VXLAN (vni \(vni))")
            }
            // This connection's tunnel from an earlier path (another VNI: a reselect, or a
            // node that restarted and chose anew): replaced, not left to block the new one.
            logger.debug("tunnel end replaced", metadata: described.merging(["was": "\(existing.kind.map { "\($0)" } ?? "?")"]) { $1 })
            try handle.deleteLink(index: existing.index)
            try create()
            try Self.removing(name, in: handle, onFailureOf: apply)
            return
        }
        if side == .client { try Self.checkOwner(existing, connectionID: plumbing.connectionID) }
        logger.debug("tunnel end kept", metadata: described)
        try apply()
    }
}
