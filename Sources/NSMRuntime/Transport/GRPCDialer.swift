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
        // A local endpoint or forwarder whose process is gone would make the call wait out its
        // deadline; a probe tells at once. Probed: URLs not yet known to answer, and those whose
        // monitor stream broke (see MonitorRelay). Known-good ones skip it (each probe costs the
        // server an accept).
        if case .unix(let path) = url, !pool.isTrusted(url) {
            if let problem = UnixSocketProbe.problem(at: path) {
                pool.discard(url)
                throw NSMError.unavailable("\(url) is not accepting connections (\(problem))")
            }
            pool.trust(url)
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
