import GRPCCore
public import GRPCNIOTransportHTTP2Posix
import LeanGRPC
public import NSMCore

extension NSMURL {
    /// The target a gRPC client dials for this URL: an address as it is, a name (a Service's,
    /// in a cluster) through DNS.
    public var clientTarget: any ResolvableTarget {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port):
            if host.contains(":") { .ipv6(host: host, port: port) }
            else if host.split(separator: ".").count == 4 && host.allSatisfy({ $0.isNumber || $0 == "." }) { .ipv4(host: host, port: port) }
            else { .dns(host: host, port: port) }
        }
    }

    /// The address a ``LeanGRPCClient`` dials, or a ``LeanServerTransport`` binds, for this URL.
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
