public import NSMAPI

/// Who made the call a chain is handling, as the transport established it — not as the request
/// claims. Elements that guard the node (which namespace may get an interface, who may touch a
/// connection) decide on this.
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    public enum Transport: Sendable, Hashable {
        /// A hop in the same process (the node's manager calling its forwarder, a test's chain).
        case inProcess
        /// A process on this host over a unix socket: its pid and uid when it connected, and the
        /// network namespace it speaks for — the one it passed as a file descriptor, else its own
        /// (`nil` when its namespace could not be read).
        case local(pid: Int32, uid: UInt32, namespace: NamespaceURL?)
        /// A peer over the network (TCP), by address.
        case remote(String)
    }

    public var transport: Transport
    /// The peer's SPIFFE ID, verified by mutual TLS, when the transport has it.
    public var spiffeID: String?
    /// The peer's leaf certificate (DER) with mutual TLS: its path token is checked against it.
    public var certificate: [UInt8]?

    public init(transport: Transport, spiffeID: String? = nil, certificate: [UInt8]? = nil) {
        self.transport = transport
        self.spiffeID = spiffeID
        self.certificate = certificate
    }

    public static let inProcess = Caller(transport: .inProcess)

    /// The caller of the registry call being handled (registry chains carry no context; their
    /// gRPC services set it). In process unless set.
    @TaskLocal public static var current = Caller.inProcess
    public static func local(pid: Int32, uid: UInt32, namespace: NamespaceURL?, spiffeID: String? = nil, certificate: [UInt8]? = nil) -> Caller {
        Caller(transport: .local(pid: pid, uid: uid, namespace: namespace), spiffeID: spiffeID, certificate: certificate)
    }
    public static func remote(_ address: String, spiffeID: String? = nil, certificate: [UInt8]? = nil) -> Caller {
        Caller(transport: .remote(address), spiffeID: spiffeID, certificate: certificate)
    }

    /// Who this caller is for ownership (the creator of a connection): its SPIFFE ID when TLS
    /// verified one; else a local process by the namespace it speaks for (a pod's containers
    /// share it), a network peer by its host; `nil` in process (trusted: the hop's own timers
    /// and the node's manager).
    public var identity: String? {
        if let spiffeID { return spiffeID }
        switch transport {
        case .inProcess: return nil
        case .local(_, _, let namespace): return "local process in \(namespace?.description ?? "an unreadable namespace")"
        case .remote(let address): return "peer \(remoteAddress ?? address)"
        }
    }

    /// A network peer's address without its port, as the transports name peers:
    /// "ipv4:10.0.0.1:5000" → "10.0.0.1", "ipv6:[fd00::1]:5000" → "fd00::1"; `nil` for other callers.
    public var remoteAddress: String? {
        guard case .remote(let address) = transport else { return nil }
        var text = Substring(address)
        if text.hasPrefix("ipv4:") || text.hasPrefix("ipv6:") { text = text.dropFirst(5) }
        guard let colon = text.lastIndex(of: ":") else { return String(text) }
        text = text[..<colon]
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        return String(text)
    }

    public var description: String {
        let base = switch transport {
        case .inProcess: "this process"
        case .local(let pid, let uid, let namespace): "pid \(pid) (uid \(uid)) in \(namespace?.description ?? "an unreadable network namespace")"
        case .remote(let address): "\(address) over the network"
        }
        return spiffeID.map { "\(base) as \($0)" } ?? base
    }
}
