public import NSMAPI

/// The next hop at one URL, as this process reaches it (gRPC in production, the hop's chain
/// directly when it lives in this process, an in-memory stand-in in unit tests): its
/// NetworkService calls, its connection monitor, and what we believe of its liveness.
public protocol NetworkServicePeer: Sendable {
    var url: NSMURL { get }

    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection
    func close(_ connection: Connection_Connection) async throws

    /// Follows the peer's `MonitorConnections` for `selector`, handing each event to `body`,
    /// until the stream ends (returns) or breaks (throws).
    func monitorConnections(
        _ selector: Connection_MonitorScopeSelector, _ body: @escaping @Sendable (Connection_ConnectionEvent) async throws -> Void
    ) async throws

    /// Something suggested the peer went away (its monitor stream broke): check that it is alive
    /// before the next call instead of waiting out a deadline.
    func suspect()

    /// The network namespace of the peer's process, as the kernel tells it (a unix socket's peer
    /// credentials); `nil` when unknown (TCP, in process).
    func processNamespace() async throws -> NamespaceURL?
}

extension NetworkServicePeer {
    public func processNamespace() async throws -> NamespaceURL? { nil }
}

/// Hands out the ``NetworkServicePeer`` for a URL, one per URL, created on first use.
public protocol NetworkServiceDialer: Sendable {
    func peer(for url: NSMURL) async throws -> any NetworkServicePeer
}
