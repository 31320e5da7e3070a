import IPAddressing
import Netlink
import NetlinkWire
import NSMAPI
import NSMCore

/// Applies a connection context to one side's interface, as upstream's kernel forwarder does:
///
/// - client side: addresses = `src_ip_addrs`; link-scope routes to each `dst_ip_addrs` entry not
///   covered by a source prefix; `src_routes` via the first destination address of the same
///   family (onlink), or as plain device routes when the prefix lies inside a destination prefix;
/// - endpoint side: the mirror image with `dst_ip_addrs`, `src_ip_addrs` and `dst_routes`;
/// - MTU when given; the interface up; IPv6 enabled on it when it gets IPv6 addresses, and no
///   IPv6 link-local address when it gets none (`addrgenmode none` before it first goes up: an
///   IPv4-only interface then costs the kernel no DAD, no MLD reports and no `fe80::/64` route —
///   work that grows with the interfaces in the endpoint's namespace); in the
///   client's namespace `net.ipv4.ping_group_range = 0 2147483647` (for liveness pings; the
///   data plane writes it when it opens its handle there, see ``KernelDataPlane``).
///
/// Everything is sent in one netlink batch with replace semantics, so a refresh re-applies.
enum ConnectionContextApplier {
    enum Side { case client, endpoint }

    static func apply(
        _ context: Connectioncontext_ConnectionContext, side: Side, interface: String, handle: NetlinkHandle,
        namespace: NetworkNamespace, alias: String
    ) throws {
        let ip = context.ipContext
        let own = try (side == .client ? ip.sourcePrefixes() : ip.destinationPrefixes())
        let peer = try (side == .client ? ip.destinationPrefixes() : ip.sourcePrefixes())
        let routes = side == .client ? ip.srcRoutes : ip.dstRoutes
        let link = try handle.link(named: interface)
        if own.contains(where: { $0.family == .v6 }) {
            try? namespace.setSysctl(["net", "ipv6", "conf", interface, "disable_ipv6"], "0")
        }
        var requests: [NetlinkRequest] = []
        if context.mtu > 0, link.mtu != context.mtu { requests.append(.setMTU(index: link.index, context.mtu)) }
        requests.append(.setAlias(index: link.index, alias))
        for prefix in own {
            requests.append(.addAddress(prefix, index: link.index, flags: prefix.family == .v6 ? .noDAD : [], replace: true))
        }
        if !link.isUp, !own.contains(where: { $0.family == .v6 }) {
            requests.append(.setIPv6AddressGeneration(index: link.index, .none))
        }
        requests.append(.setUp(index: link.index))
        for prefix in peer where !own.contains(where: { $0.network.contains(prefix.address) }) {
            requests.append(.replaceRoute(Route(destination: prefix.address.hostPrefix, outputIndex: link.index, scope: .link)))
        }
        for route in routes {
            let destination = try route.parsedPrefix().network
            if let nextHop = try route.parsedNextHop() {
                requests.append(.replaceRoute(Route(destination: destination, gateway: nextHop, outputIndex: link.index, onlink: true)))
            } else if peer.contains(where: { $0.network.contains(destination) }) || own.contains(where: { $0.network.contains(destination) && $0.network.length <= destination.length }) {
                requests.append(.replaceRoute(Route(destination: destination, outputIndex: link.index, scope: .link)))
            } else if let gateway = peer.first(where: { $0.family == destination.family })?.address {
                requests.append(.replaceRoute(Route(destination: destination, gateway: gateway, outputIndex: link.index, onlink: true)))
            } else {
                requests.append(.replaceRoute(Route(destination: destination, outputIndex: link.index, scope: .link)))
            }
        }
        do {
            try handle.execute(batch: requests)
        } catch {
            throw NSMError.internalError("applying the connection context to \(interface): \(error)")
        }
    }
}
