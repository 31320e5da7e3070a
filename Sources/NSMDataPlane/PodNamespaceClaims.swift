import IPAddressing
import Netlink
import NSMAPI
import NSMCore

/// What a connection would put into the client's namespace, checked against what the
/// namespace's other interfaces already hold, before anything is made or changed.
///
/// Two services of one pod whose endpoints hand out overlapping addresses (e.g. two endpoints
/// on the same default pool, requested at the same moment) would otherwise share an address,
/// or the second's `ip route replace` would silently move the first's host route onto its own
/// interface — and closing the second then deletes the first's route with it. Only interfaces
/// of other connections count (their alias is `client-<connection id>`, set by a forwarder): a
/// service may still route a prefix the pod's own interfaces (eth0) route. A conflict is
/// refused with `ALREADY_EXISTS`, naming the prefix and the interface that holds it; the client
/// then asks again with the other service's prefixes excluded.
enum PodNamespaceClaims {
    /// The alias a forwarder gives the client side of a connection: `client-<connection id>`.
    static let clientAliasPrefix = "client-"

    static func clientAlias(_ connectionID: String) -> String { String((clientAliasPrefix + connectionID).prefix(64)) }

    /// Throws when an address or route of `context` for the client side is held by an interface
    /// other than `interface` (which may not exist yet).
    static func check(_ context: Connectioncontext_ConnectionContext, interface: String, handle: NetlinkHandle) throws {
        let ip = context.ipContext
        let own = try ip.sourcePrefixes()
        let peer = try ip.destinationPrefixes()
        let routeDestinations = try ip.srcRoutes.map { try $0.parsedPrefix().network }
            + peer.filter { prefix in !own.contains { $0.network.contains(prefix.address) } }.map(\.address.hostPrefix)
        guard !own.isEmpty || !routeDestinations.isEmpty else { return }
        let links = try handle.links()
        // A pod with no other connection's interface (the usual case) holds nothing to collide with.
        guard links.contains(where: { $0.name != interface && $0.alias?.hasPrefix(clientAliasPrefix) == true }) else { return }
        func holder(_ index: Int32?) -> String? {
            guard let link = links.first(where: { $0.index == index }), link.name != interface,
                  link.alias?.hasPrefix(clientAliasPrefix) == true
            else { return nil }
            return link.name
        }
        for family in Set(own.map(\.family) + routeDestinations.map(\.family)) {
            for address in try handle.addresses(family: family) {
                guard let owner = holder(address.index), own.contains(where: { $0.address == address.prefix.address }) else { continue }
                throw NSMError.alreadyExists("address \(address.prefix.address) is already on interface \(owner) in the client's namespace (another connection); it cannot also go on \(interface)")
            }
            for route in try handle.routes(family: family) {
                guard let owner = holder(route.outputIndex), routeDestinations.contains(route.destination) else { continue }
                throw NSMError.alreadyExists("route \(route.destination) in the client's namespace already goes through interface \(owner) (another connection); it cannot also go through \(interface)")
            }
        }
    }
}
