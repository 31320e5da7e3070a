import Netlink
import Synchronization

/// Endpoint namespaces are kept open (a netlink handle in each) only while connections use them.
/// A kept handle pins its namespace: were it kept after the endpoint's pod is gone, the
/// namespace would live on with the connection's interfaces, their addresses and VXLAN VNIs —
/// a reselect to another endpoint then finds its VNI "already used on this node's underlay".
extension KernelDataPlane {
    struct KeptNamespaces {
        var open: [NamespaceIdentity: KeptNamespace] = [:]
        /// The endpoint namespace each connection (by id) is plumbed into.
        var users: [String: NamespaceIdentity] = [:]

        /// Drops `identity`'s handle when no connection uses it.
        mutating func dropIfUnused(_ identity: NamespaceIdentity) {
            if !users.values.contains(identity) { open[identity] = nil }
        }
    }

    /// Records that connection `id` is plumbed into `namespace` (an endpoint's); a namespace it
    /// used before, now unused, is let go.
    func use(_ namespace: NetworkNamespace, for id: String) {
        kept.withLock { kept in
            let before = kept.users.updateValue(namespace.identity, forKey: id)
            if let before, before != namespace.identity { kept.dropIfUnused(before) }
        }
    }

    /// Connection `id` is gone: its endpoint namespace is let go when no other connection uses it.
    func release(_ id: String) {
        kept.withLock { kept in
            if let before = kept.users.removeValue(forKey: id) { kept.dropIfUnused(before) }
        }
    }

    /// A connect into `namespace` failed: let it go unless a connection uses it.
    func releaseIfUnused(_ namespace: NetworkNamespace) {
        kept.withLock { $0.dropIfUnused(namespace.identity) }
    }

    /// How many endpoint namespaces are held open (diagnostics, tests).
    public var keptEndpointNamespaces: Int { kept.withLock { $0.open.count } }
}
