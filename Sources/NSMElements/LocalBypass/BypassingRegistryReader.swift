public import NSMAPI
public import NSMCore

/// The manager's view of the registry for its own chain: local endpoints and forwarders with
/// their local URLs.
public struct BypassingRegistryReader: RegistryReader {
    let upstream: any RegistryReader
    let bypass: LocalBypass
    let publicURL: String

    public init(upstream: any RegistryReader, bypass: LocalBypass, publicURL: String) {
        self.upstream = upstream
        self.bypass = bypass
        self.publicURL = publicURL
    }

    public func networkService(named name: String) async throws -> Registry_NetworkService? {
        try await upstream.networkService(named: name)
    }

    public func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        try await upstream.endpoints(matching: query).map { bypass.rewrite($0, publicURL: publicURL) }
    }
}
