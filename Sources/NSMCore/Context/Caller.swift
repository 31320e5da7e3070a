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

    public var description: String {
        switch self {
        case .inProcess: "this process"
        case .local(let pid, let uid, let namespace): "pid \(pid) (uid \(uid)) in \(namespace?.description ?? "an unreadable network namespace")"
        case .remote(let address): "\(address) over the network"
        }
    }
}
