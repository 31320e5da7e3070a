import ArgumentParser
import GRPCNIOTransportHTTP2Posix
import NSMCore

/// A failure at run time (not a usage mistake): printed as `Error: …` without the usage text,
/// and the command exits with status 1 (ArgumentParser prints usage only for ValidationError).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension NSMURL {
    /// Where a one-shot gRPC client of a command connects.
    var grpcTarget: any ResolvableTarget {
        switch self {
        case .unix(let path): .unixDomainSocket(path: path)
        case .tcp(let host, let port): .ipv4(host: host, port: port)
        }
    }
}
