public import Logging
import NSMAPI
public import NSMCore
import Synchronization

/// Hops that live in this process — the node's forwarder, next to its manager in `nsm node` —
/// by URL. The manager reaches them by calling their chain directly: the same elements and
/// messages as over gRPC, without an HTTP/2 round trip and four thread hand-offs each way.
/// Their gRPC servers still serve everyone else (monitor streams, health, other managers).
public final class InProcessHops: Sendable {
    struct Hop: Sendable {
        let chain: NetworkServiceChain
        let logger: Logger
    }

    private let hops = Mutex<[NSMURL: Hop]>([:])

    public init() {}

    /// Makes `url` reachable in-process through `chain`.
    public func register(_ url: NSMURL, chain: NetworkServiceChain, logger: Logger) {
        hops.withLock { $0[url] = Hop(chain: chain, logger: logger) }
    }

    func hop(for url: NSMURL) -> Hop? { hops.withLock { $0[url] } }
}

/// Reaches in-process hops directly and everything else through `fallback` (gRPC).
public struct InProcessDialer: NetworkServiceDialer {
    let hops: InProcessHops
    let fallback: any NetworkServiceDialer

    public init(hops: InProcessHops, fallback: any NetworkServiceDialer) {
        self.hops = hops
        self.fallback = fallback
    }

    public func remote(for url: NSMURL) async throws -> any NetworkServiceRemote {
        if let hop = hops.hop(for: url) { return InProcessRemote(hop: hop, url: url) }
        return try await fallback.remote(for: url)
    }
}

/// A hop's chain called as its gRPC service would call it (see `NetworkServiceGRPCService`).
struct InProcessRemote: NetworkServiceRemote {
    let hop: InProcessHops.Hop
    let url: NSMURL

    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        try await hop.chain.request(request, context: context(request.connection.id))
    }

    func close(_ connection: Connection_Connection) async throws {
        try await hop.chain.close(connection, context: context(connection.id))
    }

    private func context(_ id: String) -> ChainContext {
        var logger = hop.logger
        logger[metadataKey: "nsm.connection.id"] = "\(id)"
        return ChainContext(logger: logger, peer: "in-process")
    }
}
