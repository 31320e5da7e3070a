public import NSMAPI

/// Who made the call a chain is handling, as the transport established it — not as the request
/// claims. Elements that guard the node (which namespace may get an interface, who may touch a
/// connection) decide on this.
public enum Caller: Sendable, Hashable, CustomStringConvertible {
    /// A hop in the same process (the node's manager calling its forwarder, a test's chain).
    case inProcess
    /// A process on this host over a unix socket: its pid and uid when it connected, and the
    /// network namespace it speaks for — the one it passed as a file descriptor, else its own
    /// (`nil` when its namespace could not be read).
    case local(pid: Int32, uid: UInt32, namespace: NamespaceURL?)
    /// A peer over the network (TCP), by address.
    case remote(String)

    /// Who this caller is for ownership (the creator of a connection): a local process by the
    /// namespace it speaks for (a pod's containers share it), a network peer by its host; `nil`
    /// in process (trusted: the hop's own timers and the node's manager).
    public var identity: String? {
        switch self {
        case .inProcess: nil
        case .local(_, _, let namespace): "local process in \(namespace?.description ?? "an unreadable namespace")"
        case .remote(let address):
            // "ipv4:10.0.0.1:5000" / "ipv6:[fd00::1]:5000" → without the port.
            "peer \(address.lastIndex(of: ":").map { String(address[..<$0]) } ?? address)"
        }
    }

    public var description: String {
        switch self {
        case .inProcess: "this process"
        case .local(let pid, let uid, let namespace): "pid \(pid) (uid \(uid)) in \(namespace?.description ?? "an unreadable network namespace")"
        case .remote(let address): "\(address) over the network"
        }
    }
}
