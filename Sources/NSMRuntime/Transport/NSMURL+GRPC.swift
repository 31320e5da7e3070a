import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCUnary
public import NSMCore

extension NSMURL {
    /// The address a gRPC server binds for this URL.
    var serverAddress: GRPCNIOTransportCore.SocketAddress {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        }
    }

    /// The target a gRPC client dials for this URL.
    var clientTarget: any ResolvableTarget {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        }
    }

    /// The target of a ``GRPCUnaryClient`` for this URL.
    var unaryTarget: GRPCUnaryClient.Target {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): .tcp(host: host, port: port)
        }
    }

    /// Builds the URL a listening server reports (`unix:…` or `ipv4:host:port`).
    static func fromListening(_ address: GRPCNIOTransportCore.SocketAddress) -> NSMURL? {
        if let unix = address.unixDomainSocket { return .unix(path: unix.path) }
        if let v4 = address.ipv4 { return .tcp(host: v4.host, port: v4.port) }
        if let v6 = address.ipv6 { return .tcp(host: v6.host, port: v6.port) }
        return nil
    }
}
