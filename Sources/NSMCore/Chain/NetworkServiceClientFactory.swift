public import NSMAPI

/// The next hop of a chain, reached over some transport (gRPC in production, in-process in
/// unit tests). ``NetworkServiceDialer`` hands them out by URL.
public protocol NetworkServiceRemote: Sendable {
    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection
    func close(_ connection: Connection_Connection) async throws
}

/// Gives a ``NetworkServiceRemote`` for a URL, caching connections as it sees fit.
public protocol NetworkServiceDialer: Sendable {
    func remote(for url: NSMURL) async throws -> any NetworkServiceRemote
}
