public import NSMAPI
public import NSMCore

/// On an endpoint: hands out its DNS configs (servers, and the domains they serve), adding
/// each unless an equivalent one (same sets) is already present.
public struct DNSContextElement: NetworkServiceElement {
    public let configs: [Connectioncontext_DNSConfig]

    public init(configs: [Connectioncontext_DNSConfig]) { self.configs = configs }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        for config in configs where !request.connection.context.dnsContext.configs.contains(where: { $0.isEquivalent(to: config) }) {
            request.connection.context.dnsContext.configs.append(config)
        }
        return try await next.request(request, context: context)
    }
}
