public import IPAddressing
public import NSMAPI
public import NSMCore

/// On an endpoint: adds routes the client should send through the endpoint (`src_routes`).
public struct RoutesElement: NetworkServiceElement {
    public let routes: [IPPrefix]

    public init(routes: [IPPrefix]) { self.routes = routes }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        for route in routes { request.connection.context.ipContext.addSourceRoute(route.network) }
        return try await next.request(request, context: context)
    }
}

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

/// On an endpoint that serves DNS itself (a zone server listening on all its addresses): offers
/// its own address on each connection — the first `dst_ip_addrs` entry, assigned by IPAM just
/// before — as the DNS server for `searchDomains`. A config for the same domains naming another
/// address (left from an earlier allocation) is replaced.
public struct OwnDNSServerElement: NetworkServiceElement {
    public let searchDomains: [String]

    public init(searchDomains: [String]) { self.searchDomains = searchDomains }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        guard let own = try request.connection.context.ipContext.destinationPrefixes().first?.address else {
            return try await next.request(request, context: context)
        }
        var config = Connectioncontext_DNSConfig()
        config.dnsServerIps = ["\(own)"]
        config.searchDomains = searchDomains
        var dns = request.connection.context.dnsContext
        dns.configs.removeAll { Set($0.searchDomains) == Set(searchDomains) && !$0.isEquivalent(to: config) }
        if !dns.configs.contains(where: { $0.isEquivalent(to: config) }) { dns.configs.append(config) }
        request.connection.context.dnsContext = dns
        return try await next.request(request, context: context)
    }
}

/// On an endpoint: accepts a LOCAL/KERNEL mechanism preference and answers with the
/// endpoint's side of it — the interface name (the requested one, or one generated from the
/// service) and the endpoint's own network namespace.
public struct KernelMechanismElement: NetworkServiceElement {
    public let namespaceURL: String

    public init(namespaceURL: String) { self.namespaceURL = namespaceURL }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        guard let preference = request.mechanismPreferences.first(where: { $0.isKernel }) else {
            let offered = request.mechanismPreferences.map { "\($0.cls)/\($0.type)" }.joined(separator: ", ")
            throw NSMError.invalidArgument("unsupported mechanism preferences [\(offered)]; this endpoint accepts LOCAL/KERNEL")
        }
        var name = preference.kernelInterfaceName ?? ""
        if name.isEmpty { name = Self.interfaceName(for: request.connection) }
        guard name.utf8.count <= 15 else {
            throw NSMError.invalidArgument("interface name \"\(name)\" is \(name.utf8.count) bytes; Linux allows at most 15")
        }
        request.connection.mechanism = .kernel(interfaceName: name, namespace: NamespaceURL(namespaceURL))
        return try await next.request(request, context: context)
    }

    /// A deterministic name for the endpoint side: `nse-` and a short hash of the connection id.
    static func interfaceName(for connection: Connection_Connection) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in connection.id.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "nse-" + String(hash, radix: 36)
    }
}
