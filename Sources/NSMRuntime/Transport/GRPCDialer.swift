import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import NSMAPI
public import NSMCore

/// Reaches next hops over gRPC (HTTP/2 over unix sockets or TCP) with clients from a pool.
public struct GRPCDialer: NetworkServiceDialer {
    public let pool: GRPCClientPool
    /// Deadline of one Request or Close to the next hop.
    public let timeout: Duration

    public init(pool: GRPCClientPool, timeout: Duration = .seconds(15)) {
        self.pool = pool
        self.timeout = timeout
    }

    public func remote(for url: NSMURL) async throws -> any NetworkServiceRemote {
        if case .unix(let path) = url, let problem = UnixSocketProbe.problem(at: path) {
            // A local endpoint or forwarder whose process is gone: say so now, so the caller can
            // try another candidate instead of waiting out the deadline.
            pool.discard(url)
            throw NSMError.unavailable("\(url) is not accepting connections (\(problem))")
        }
        return GRPCRemote(client: Networkservice_NetworkService.Client(wrapping: try pool.client(for: url)), url: url, timeout: timeout)
    }
}

struct GRPCRemote: NetworkServiceRemote {
    let client: Networkservice_NetworkService.Client<HTTP2ClientTransport.Posix>
    let url: NSMURL
    let timeout: Duration

    var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        return options
    }

    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        try await client.request(request, options: options)
    }

    func close(_ connection: Connection_Connection) async throws {
        _ = try await client.close(connection, options: options)
    }
}
