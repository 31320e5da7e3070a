public import Logging
import NSMAPI
public import NSMCore
public import SPIFFE
import Synchronization

/// Hops that live in this process — the node's forwarder, next to its manager in `nsm node` —
/// by URL. The manager reaches them by calling their chain directly: the same elements and
/// messages as over gRPC, without an HTTP/2 round trip and four thread hand-offs each way.
/// Their gRPC servers still serve everyone else (monitor streams, health, other managers).
public final class InProcessHops: Sendable {
    struct Hop: Sendable {
        let chain: NetworkServiceChain
        let logger: Logger
        /// What the hop is ("forwarder"): its span's `nsm.hop` with tracing on.
        let name: String
    }

    private let hops = Mutex<[NSMURL: Hop]>([:])

    public init() {}

    /// Makes `url` reachable in-process through `chain`, the hop `name` ("forwarder").
    public func register(_ url: NSMURL, chain: NetworkServiceChain, logger: Logger, name: String) {
        hops.withLock { $0[url] = Hop(chain: chain, logger: logger, name: name) }
    }

    func hop(for url: NSMURL) -> Hop? { hops.withLock { $0[url] } }
}

/// Reaches in-process hops directly and everything else through `fallback` (gRPC).
///
/// With an identity, the caller's segment still gets its token, signed for this process's own
/// SPIFFE ID (the in-process hop's): the token chain the next hops check stays unbroken.
public struct InProcessDialer: NetworkServiceDialer {
    let hops: InProcessHops
    let fallback: any NetworkServiceDialer
    let identity: (any X509Source)?

    public init(hops: InProcessHops, fallback: any NetworkServiceDialer, identity: (any X509Source)? = nil) {
        self.hops = hops
        self.fallback = fallback
        self.identity = identity
    }

    public func peer(for url: NSMURL) async throws -> any NetworkServicePeer {
        guard let hop = hops.hop(for: url) else { return try await fallback.peer(for: url) }
        return InProcessPeer(hop: hop, url: url, streams: fallback, identity: identity)
    }
}

/// A hop's chain called as its gRPC service would call it (see `NetworkServiceGRPCService`);
/// its monitor stream still goes over gRPC (`streams`).
struct InProcessPeer: NetworkServicePeer {
    let hop: InProcessHops.Hop
    let url: NSMURL
    let streams: any NetworkServiceDialer
    let identity: (any X509Source)?

    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        var request = request
        request.connection = try signed(request.connection)
        return try await ChainTracing.hop(hop.name, "Request", connection: request.connection) {
            try await hop.chain.request(request, context: context(request.connection.id))
        }
    }

    func close(_ connection: Connection_Connection) async throws {
        let connection = try signed(connection)
        try await ChainTracing.hop(hop.name, "Close", connection: connection) {
            try await hop.chain.close(connection, context: context(connection.id))
        }
    }

    private func signed(_ connection: Connection_Connection) throws -> Connection_Connection {
        guard let identity else { return connection }
        let material = try identity.current()
        return try connection.signingOwnSegment(with: material, for: material.svid.id.description)
    }

    func monitorConnections(
        _ selector: Connection_MonitorScopeSelector, _ body: @escaping @Sendable (Connection_ConnectionEvent) async throws -> Void
    ) async throws {
        try await streams.peer(for: url).monitorConnections(selector, body)
    }

    /// The hop lives as long as this process.
    func suspect() {}

    private func context(_ id: String) -> ChainContext {
        ChainContext(logger: hop.logger.about(connection: id), peer: "in-process")
    }
}
