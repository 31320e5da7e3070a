public import NSMCore

/// Reaches next hops over gRPC (HTTP/2 over unix sockets or TCP) through the pool's peers,
/// checking first that a peer not known to be alive is listening.
public struct GRPCDialer: NetworkServiceDialer {
    public let pool: GRPCClientPool
    /// Deadline of one Request or Close to the next hop.
    public let timeout: Duration

    public init(pool: GRPCClientPool, timeout: Duration = .seconds(15)) {
        self.pool = pool
        self.timeout = timeout
    }

    public func peer(for url: NSMURL) async throws -> any NetworkServicePeer {
        let peer = try pool.peer(for: url)
        do { try peer.checkAlive() } catch {
            pool.discard(url)
            throw error
        }
        return peer.with(timeout: timeout)
    }
}
