import IPAddressing
public import NSMAPI
public import NSMCore

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
