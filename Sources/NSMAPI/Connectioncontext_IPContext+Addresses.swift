import IPAddressing

extension Connectioncontext_IPContext {
    /// `src_ip_addrs` (the client side) parsed; throws naming the first malformed entry.
    public func sourcePrefixes() throws(NSMAPIError) -> [IPPrefix] {
        try Self.parse(srcIpAddrs, field: "context.ip_context.src_ip_addrs")
    }

    /// `dst_ip_addrs` (the endpoint side) parsed.
    public func destinationPrefixes() throws(NSMAPIError) -> [IPPrefix] {
        try Self.parse(dstIpAddrs, field: "context.ip_context.dst_ip_addrs")
    }

    /// `excluded_prefixes` parsed.
    public func excludedPrefixList() throws(NSMAPIError) -> [IPPrefix] {
        try Self.parse(excludedPrefixes, field: "context.ip_context.excluded_prefixes")
    }

    /// The address families the client side has addresses in.
    public func sourceFamilies() throws(NSMAPIError) -> Set<IPFamily> { Set(try sourcePrefixes().map(\.family)) }

    /// Adds `prefix` to `src_ip_addrs` unless an equal entry is present.
    public mutating func addSource(_ prefix: IPPrefix) {
        if !srcIpAddrs.contains(prefix.description) { srcIpAddrs.append(prefix.description) }
    }

    /// Adds `prefix` to `dst_ip_addrs` unless an equal entry is present.
    public mutating func addDestination(_ prefix: IPPrefix) {
        if !dstIpAddrs.contains(prefix.description) { dstIpAddrs.append(prefix.description) }
    }

    /// Adds `prefix` to `excluded_prefixes` unless an equal entry is present.
    public mutating func addExcluded(_ prefix: IPPrefix) {
        if !excludedPrefixes.contains(prefix.description) { excludedPrefixes.append(prefix.description) }
    }

    /// Adds a route to `src_routes` (routes the client sends via the endpoint) unless present.
    public mutating func addSourceRoute(_ prefix: IPPrefix, nextHop: IPAddress? = nil) {
        let route = Connectioncontext_Route(prefix: prefix, nextHop: nextHop)
        if !srcRoutes.contains(route) { srcRoutes.append(route) }
    }

    /// Adds a route to `dst_routes` (routes the endpoint sends via the client) unless present.
    public mutating func addDestinationRoute(_ prefix: IPPrefix, nextHop: IPAddress? = nil) {
        let route = Connectioncontext_Route(prefix: prefix, nextHop: nextHop)
        if !dstRoutes.contains(route) { dstRoutes.append(route) }
    }

    static func parse(_ entries: [String], field: String) throws(NSMAPIError) -> [IPPrefix] {
        var result: [IPPrefix] = []
        for (index, entry) in entries.enumerated() {
            guard let prefix = IPPrefix(entry) else {
                throw NSMAPIError(
                    field: "\(field)[\(index)]", value: entry,
                    expected: "an address with prefix length, e.g. 172.16.1.2/32 or fd00::2/128")
            }
            result.append(prefix)
        }
        return result
    }
}

extension Connectioncontext_Route {
    /// A route to `prefix`; `nextHop` nil leaves the wire field empty (the opposite end's address).
    public init(prefix: IPPrefix, nextHop: IPAddress? = nil) {
        self.init()
        self.prefix = prefix.description
        self.nextHop = nextHop?.description ?? ""
    }

    /// `prefix` parsed.
    public func parsedPrefix() throws(NSMAPIError) -> IPPrefix {
        guard let parsed = IPPrefix(prefix) else {
            throw NSMAPIError(field: "route.prefix", value: prefix, expected: "a CIDR prefix, e.g. 10.0.0.0/24")
        }
        return parsed
    }

    /// `nextHop` parsed; `nil` when empty.
    public func parsedNextHop() throws(NSMAPIError) -> IPAddress? {
        if nextHop.isEmpty { return nil }
        guard let address = IPAddress(nextHop) else {
            throw NSMAPIError(field: "route.nextHop", value: nextHop, expected: "an IP address, e.g. 172.16.1.1")
        }
        return address
    }
}

extension Connectioncontext_DNSConfig {
    /// Equal as sets (order-insensitive), as upstream compares DNS configs.
    public func isEquivalent(to other: Connectioncontext_DNSConfig) -> Bool {
        Set(dnsServerIps) == Set(other.dnsServerIps) && Set(searchDomains) == Set(other.searchDomains)
    }
}
