import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LeanGRPC
import NSMCore

extension NSMURL {
    /// The target a gRPC client dials for this URL.
    var clientTarget: any ResolvableTarget {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        }
    }

    /// The address a ``GRPCUnaryClient`` dials, or a ``LeanServerTransport`` binds, for this URL.
    var grpcAddress: GRPCAddress {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): .tcp(host: host, port: port)
        }
    }

    /// The URL of a ``LeanServerTransport``'s listening address.
    init(listening address: GRPCAddress) {
        switch address {
        case .unixDomainSocket(let path): self = .unix(path: path)
        case .tcp(let host, let port): self = .tcp(host: host, port: port)
        }
    }
}
