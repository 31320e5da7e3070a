import GRPCCore
import LeanGRPC
import SwiftProtobuf
public import NSMAPI
public import NSMCore

/// Reaches next hops over gRPC (HTTP/2 over unix sockets or TCP) with clients from a pool:
/// Request and Close are unary, so they go through the pool's lean ``GRPCUnaryClient``.
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
        return GRPCRemote(client: try pool.unaryClient(for: url), url: url, timeout: timeout)
    }
}

struct GRPCRemote: NetworkServiceRemote {
    static let requestPath = "/" + Networkservice_NetworkService.Method.Request.descriptor.fullyQualifiedMethod
    static let closePath = "/" + Networkservice_NetworkService.Method.Close.descriptor.fullyQualifiedMethod

    let client: GRPCUnaryClient
    let url: NSMURL
    let timeout: Duration

    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        try await client.call(Self.requestPath, request, as: Connection_Connection.self, timeout: timeout)
    }

    func close(_ connection: Connection_Connection) async throws {
        _ = try await client.call(Self.closePath, connection, as: Google_Protobuf_Empty.self, timeout: timeout)
    }
}
