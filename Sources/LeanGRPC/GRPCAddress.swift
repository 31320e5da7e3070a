/// Where a gRPC server listens, or a client dials: a unix socket or a TCP host and port.
public enum GRPCAddress: Sendable, Hashable, CustomStringConvertible {
    case unixDomainSocket(path: String)
    case tcp(host: String, port: Int)

    /// `:authority`: the host and port, or `localhost` for a unix socket (as other clients send).
    var authority: String {
        switch self {
        case .unixDomainSocket: "localhost"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    public var description: String {
        switch self {
        case .unixDomainSocket(let path): "unix:\(path)"
        case .tcp: authority
        }
    }
}
