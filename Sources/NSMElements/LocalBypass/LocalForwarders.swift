public import NSMAPI
public import NSMCore

/// The forwarders registered through this manager (published under its public URL), with their
/// local URLs: the candidates of ``DiscoverForwarderElement``. On a Close after a restart, the
/// forwarder named by the path's next segment is the next hop.
public struct LocalForwarders: NextHopResolver {
    /// The service forwarders register under (`forwarder`).
    public let serviceName: String
    let registry: any RegistryReader
    let bypass: LocalBypass
    let publicURL: String

    /// - Parameter registry: the registry as published (forwarders under the manager's public URL).
    public init(serviceName: String = "forwarder", registry: any RegistryReader, bypass: LocalBypass, publicURL: String) {
        self.serviceName = serviceName
        self.registry = registry
        self.bypass = bypass
        self.publicURL = publicURL
    }

    public func list() async throws -> [Registry_NetworkServiceEndpoint] {
        var query = Registry_NetworkServiceEndpoint()
        query.networkServiceNames = [serviceName]
        query.url = publicURL
        return try await registry.endpoints(matching: query)
            .filter { $0.url == publicURL && bypass.localURL(for: $0.name) != nil }
            .map { bypass.rewrite($0, publicURL: publicURL) }
    }

    public func nextHop(for connection: Connection_Connection) async throws -> NSMURL? {
        guard let name = connection.nextPathSegment?.name, let url = bypass.localURL(for: name) else { return nil }
        return try NSMURL(url)
    }
}
