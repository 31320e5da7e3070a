import Foundation
import IPAddressing
import Logging
public import Netlink
import NetlinkWire
public import NSMAPI
import NSMCore
public import NSMElements
import Synchronization

/// The forwarder's Linux data plane: real kernel interfaces through netlink.
///
/// - LOCAL (client and endpoint on this node): a veth pair created in one request with one end
///   directly in the client's namespace and the other directly in the endpoint's, each named as
///   its mechanism says.
/// - REMOTE: a VXLAN device per side, created from the node's namespace (so its UDP socket and
///   underlay stay the node's) directly inside the pod's or endpoint's namespace and named there.
///
/// Then the connection context is applied on both sides (``ConnectionContextApplier``):
/// addresses, routes, MTU, up. Connect is idempotent (a refresh re-applies with replace
/// semantics); disconnect deletes the interfaces (deleting one veth end deletes both).
///
/// Netlink handles: one per endpoint namespace, kept while a connection uses it (few, shared by
/// many connections; released with its last connection, or a dead endpoint's namespace would be
/// pinned with its interfaces, addresses and VNIs); one per pod namespace only for the duration
/// of a call, opened with the pod's `net.ipv4.ping_group_range` written on the same trip into
/// the namespace — a kept handle would pin the pod's namespace after the pod is gone and cost
/// memory per pod.
public final class KernelDataPlane: ForwarderDataPlane {
    let node: NetlinkHandle
    let resolver = NamespaceResolver()
    let kept = Mutex(KeptNamespaces())
    /// Plumbing into one pod's namespace, one connection at a time.
    let podSerializer = KeyedSerializer()
    let logger: Logger

    /// - Parameter node: a handle in the node's (forwarder's) own namespace.
    public init(node: NetlinkHandle, logger: Logger = Logger(label: "nsm.dataplane")) {
        self.node = node
        self.logger = logger
    }

    /// The client's pod namespace and a handle in it, while the endpoint is being asked; and
    /// the veth pair when it could be made then.
    final class PreparedPod: PreparedPlumbing {
        let url: String
        let namespace: NetworkNamespace
        let handle: NetlinkHandle
        let veth: EarlyVeth?
        init(url: String, namespace: NetworkNamespace, handle: NetlinkHandle, veth: EarlyVeth?) {
            self.url = url
            self.namespace = namespace
            self.handle = handle
            self.veth = veth
        }
    }

    /// A veth pair made before the endpoint answered, for the names and namespace expected.
    struct EarlyVeth: Sendable, Equatable {
        var clientName: String
        var endpointName: String
        var endpointNamespace: NamespaceIdentity
    }

    /// Opens the client's namespace and a handle in it, and — when the endpoint's side is
    /// expected (its namespace known from earlier answers) — creates the veth pair: the kernel's
    /// slowest step then overlaps the endpoint's answer instead of following it.
    public func prepare(_ incoming: Connection_Mechanism, expecting expected: Connection_Mechanism?) async throws -> (any PreparedPlumbing)? {
        guard incoming.isKernel, let url = incoming.inodeURL else { return nil }
        let namespace = try namespace(incoming)
        let planned = earlyVeth(incoming, expected)
        let node = self.node
        // Suspends rather than blocks: the caller's thread meanwhile sends the endpoint its request.
        let (handle, made) = try await NetlinkHandle.opening(namespace: namespace) { () throws(NetlinkError) -> Bool in
            try Self.openPingRange()
            guard let planned else { return false }
            return Self.failure { () throws(NetlinkError) in
                try node.addVeth(name: planned.veth.clientName, peer: VethPeer(name: planned.veth.endpointName, namespace: planned.peer),
                                 options: LinkOptions(namespace: namespace))
            } == nil
        }
        return PreparedPod(url: url, namespace: namespace, handle: handle, veth: made ? planned?.veth : nil)
    }

    /// The pair to make early: when both names and the endpoint's (kept) namespace are known.
    private func earlyVeth(_ incoming: Connection_Mechanism, _ expected: Connection_Mechanism?) -> (veth: EarlyVeth, peer: NetworkNamespace)? {
        guard let expected, expected.isKernel, let clientName = incoming.kernelInterfaceName, let endpointName = expected.kernelInterfaceName,
              let endpoint = try? endpointSide(expected)
        else { return nil }
        return (EarlyVeth(clientName: clientName, endpointName: endpointName, endpointNamespace: endpoint.namespace.identity), endpoint.namespace)
    }

    /// Deletes a pair made early for a connection the endpoint refused.
    public func discard(_ prepared: any PreparedPlumbing) async {
        guard let pod = prepared as? PreparedPod, let veth = pod.veth else { return }
        try? pod.handle.deleteLink(named: veth.clientName)
    }

    public func connect(_ plumbing: Plumbing) async throws {
        try await connect(plumbing, prepared: nil)
    }

    public func connect(_ plumbing: Plumbing, prepared: (any PreparedPlumbing)?) async throws {
        let incoming = plumbing.incoming
        guard incoming.isKernel, let url = incoming.inodeURL else { return try connectNow(plumbing, prepared: prepared) }
        // One connection at a time per pod: what a connection may claim in the pod's namespace is
        // checked and taken in one step (two services of a pod plumbed at the same moment would
        // otherwise both pass the check).
        let key = NamespaceIdentity(url: url)?.url ?? url
        try await podSerializer.run(key) { try self.connectNow(plumbing, prepared: prepared) }
    }

    /// Plumbs, then records which endpoint namespace the connection uses (or lets an unused one go).
    private func connectNow(_ plumbing: Plumbing, prepared: (any PreparedPlumbing)?) throws {
        do {
            try plumbNow(plumbing, prepared: prepared)
        } catch {
            if plumbing.outgoing.isKernel, let endpoint = try? endpointSide(plumbing.outgoing) { releaseIfUnused(endpoint.namespace) }
            throw error
        }
        if plumbing.outgoing.isKernel, let endpoint = try? endpointSide(plumbing.outgoing) { use(endpoint.namespace, for: plumbing.connectionID) }
    }

    private func plumbNow(_ plumbing: Plumbing, prepared: (any PreparedPlumbing)?) throws {
        let incoming = plumbing.incoming, outgoing = plumbing.outgoing
        let pod = (prepared as? PreparedPod).flatMap { $0.url == incoming.inodeURL ? $0 : nil }
        switch (incoming.isKernel, outgoing.isKernel) {
        case (true, true):
            try connectLocal(plumbing, pod: pod)
        case (true, false) where outgoing.isVXLAN:
            try connectTunnel(plumbing, kernel: incoming, tunnel: outgoing, side: .client, pod: pod)
        case (false, true) where incoming.isVXLAN:
            try connectTunnel(plumbing, kernel: outgoing, tunnel: incoming, side: .endpoint)
        default:
            throw NSMError.invalidArgument("cannot plumb \(incoming.cls)/\(incoming.type) to \(outgoing.cls)/\(outgoing.type)")
        }
    }

    public func disconnect(_ plumbing: Plumbing) async throws {
        defer { release(plumbing.connectionID) }
        logger.debug("unplumbing", metadata: [
            "nsm.connection.id": "\(plumbing.connectionID)", "incoming": "\(plumbing.incoming.kernelInterfaceName ?? "-")",
            "outgoing": "\(plumbing.outgoing.kernelInterfaceName ?? "-")",
        ])
        // The endpoint's side first: its handle is kept, and for a veth that deletes both ends.
        var deletedVeth = false
        for (mechanism, pod) in [(plumbing.outgoing, false), (plumbing.incoming, true)] {
            guard mechanism.isKernel, let name = mechanism.kernelInterfaceName, !deletedVeth,
                  let (namespace, handle) = try? (pod ? podSide(mechanism) : endpointSide(mechanism).pair)
            else { continue }
            if let failure = Self.failure(of: { () throws(NetlinkError) in try handle.deleteLink(named: name) }) {
                if failure.code != .notFound { throw failure }
            } else {
                deletedVeth = plumbing.incoming.isKernel && plumbing.outgoing.isKernel
            }
            if pod { resolver.forget(namespace.identity) }
        }
    }

    // MARK: Local

    func connectLocal(_ plumbing: Plumbing, pod: PreparedPod?) throws {
        let clientName = try interfaceName(plumbing.incoming, side: "client")
        let endpointName = try interfaceName(plumbing.outgoing, side: "endpoint")
        let (clientNamespace, client) = try podSide(plumbing.incoming, prepared: pod)
        let (endpointNamespace, endpoint) = try endpointSide(plumbing.outgoing).pair
        let mtu = plumbing.context.mtu == 0 ? nil : plumbing.context.mtu
        let apply = { () throws in
            try self.applyLocal(plumbing, client: (clientName, clientNamespace, client), endpoint: (endpointName, endpointNamespace, endpoint))
        }
        if let early = pod?.veth {
            if early == EarlyVeth(clientName: clientName, endpointName: endpointName, endpointNamespace: endpointNamespace.identity) {
                try Self.removing(clientName, in: client, onFailureOf: {
                    try PodNamespaceClaims.check(plumbing.context, interface: clientName, handle: client)
                    try apply()
                })
                return
            }
            // The endpoint answered otherwise than expected: start over.
            try? client.deleteLink(named: early.clientName)
        }
        // Nothing is made or changed when the client's namespace holds these prefixes elsewhere.
        try PodNamespaceClaims.check(plumbing.context, interface: clientName, handle: client)
        let failure = Self.failure { () throws(NetlinkError) in
            try node.addVeth(
                name: clientName,
                peer: VethPeer(name: endpointName, namespace: endpointNamespace, mtu: mtu),
                options: LinkOptions(mtu: mtu, namespace: clientNamespace))
        }
        guard let failure else {
            try Self.removing(clientName, in: client, onFailureOf: apply)
            return
        }
        guard failure.code == .exists else { throw failure }
        // A refresh: the pair is there; make sure it is this connection's before touching it.
        let existing = try client.link(named: clientName)
        guard existing.kind == .veth else {
            throw NSMError.failedPrecondition("interface \(clientName) exists in the client's namespace and is not ours (not a veth)")
        }
        try Self.checkOwner(existing, connectionID: plumbing.connectionID)
        try apply()
    }

    private func applyLocal(
        _ plumbing: Plumbing, client: (name: String, namespace: NetworkNamespace, handle: NetlinkHandle),
        endpoint: (name: String, namespace: NetworkNamespace, handle: NetlinkHandle)
    ) throws {
        try ConnectionContextApplier.apply(plumbing.context, side: .client, interface: client.name, handle: client.handle, namespace: client.namespace,
                                           alias: PodNamespaceClaims.clientAlias(plumbing.connectionID))
        try ConnectionContextApplier.apply(plumbing.context, side: .endpoint, interface: endpoint.name, handle: endpoint.handle, namespace: endpoint.namespace,
                                           alias: String("server-\(plumbing.connectionID)".prefix(64)))
    }

    // MARK: Helpers

    /// The link called `name`, or nil when there is none.
    static func link(named name: String, in handle: NetlinkHandle) throws -> Link? {
        do {
            return try handle.link(named: name)
        } catch where error.code == .notFound {
            return nil
        }
    }

    func interfaceName(_ mechanism: Connection_Mechanism, side: String) throws -> String {
        guard let name = mechanism.kernelInterfaceName else {
            throw NSMError.invalidArgument("the \(side)'s KERNEL mechanism has no interface name")
        }
        return name
    }

    func namespace(_ mechanism: Connection_Mechanism) throws -> NetworkNamespace {
        guard let url = mechanism.inodeURL else {
            throw NSMError.invalidArgument("KERNEL mechanism without inodeURL: cannot tell which network namespace to plumb")
        }
        do { return try resolver.open(url: url) } catch {
            throw NSMError.notFound("network namespace \(url) not found: \(error)")
        }
    }

    /// A handle in a pod's namespace for this call only, with the pod's ping range opened for
    /// unprivileged ICMP (upstream's liveness pings) on the same trip into the namespace.
    func podHandle(for namespace: NetworkNamespace) throws -> NetlinkHandle {
        try NetlinkHandle(namespace: namespace, alsoInside: Self.openPingRange)
    }

    @Sendable static func openPingRange() throws(NetlinkError) {
        try? NetworkNamespace.writeSysctl("net/ipv4/ping_group_range", "0 2147483647")
    }

    /// A pod's namespace and a handle in it for this call: the prepared ones when there are.
    func podSide(_ mechanism: Connection_Mechanism, prepared: PreparedPod? = nil) throws -> (NetworkNamespace, NetlinkHandle) {
        if let prepared { return (prepared.namespace, prepared.handle) }
        let namespace = try namespace(mechanism)
        return (namespace, try podHandle(for: namespace))
    }

    /// An endpoint's namespace and a handle in it, both kept: opened on its first connection
    /// only (the kept descriptor also keeps the namespace's identity from being reused).
    struct KeptNamespace {
        let namespace: NetworkNamespace
        let handle: NetlinkHandle
        var pair: (NetworkNamespace, NetlinkHandle) { (namespace, handle) }
    }

    func endpointSide(_ mechanism: Connection_Mechanism) throws -> KeptNamespace {
        if let identity = mechanism.inodeURL.flatMap(NamespaceIdentity.init(url:)), let found = kept.withLock({ $0.open[identity] }) { return found }
        let namespace = try namespace(mechanism)
        if let found = kept.withLock({ $0.open[namespace.identity] }) { return found }
        let created = KeptNamespace(namespace: namespace, handle: try NetlinkHandle(namespace: namespace))
        kept.withLock { $0.open[namespace.identity] = created }
        return created
    }
}
