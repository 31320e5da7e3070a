public import IPAddressing

/// A DNS server the proxy may ask, and the domains it is asked for.
///
/// With no domains it is asked for every name (the cluster DNS, a service DNS config without
/// `search_domains`); with domains, only for names equal to or under one of them.
public struct DNSUpstream: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public var domains: [DNSName]

    public init(address: IPAddress, port: UInt16 = 53, domains: [DNSName] = []) {
        self.address = address
        self.port = port
        self.domains = domains
    }

    /// Parses `IP[:PORT][=domain,domain…]`; IPv6 with a port as `[::1]:53`.
    public init(parsing text: String) throws(DNSConfigurationError) {
        var server = Substring(text), domains: [DNSName] = []
        if let equals = text.firstIndex(of: "=") {
            server = text[..<equals]
            for item in text[text.index(after: equals)...].split(separator: ",") {
                let trimmed = item.trimmingCharacters(in: " ")
                do { domains.append(try DNSName(String(trimmed))) } catch {
                    throw DNSConfigurationError("upstream \"\(text)\": domain \(error)")
                }
            }
            guard !domains.isEmpty else { throw DNSConfigurationError("upstream \"\(text)\": no domains after \"=\"; accepted: IP[:PORT][=domain,domain…]") }
        }
        let (address, port) = try Self.parseServer(server, whole: text)
        self.init(address: address, port: port, domains: domains)
    }

    static func parseServer(_ server: Substring, whole: String) throws(DNSConfigurationError) -> (IPAddress, UInt16) {
        let accepted = "accepted: IP, IP:PORT, [IPv6]:PORT, e.g. 10.96.0.10, 10.96.0.10:5353, [fd00::a]:53"
        var host = server, portText: Substring?
        if server.hasPrefix("["), let close = server.firstIndex(of: "]") {
            host = server[server.index(after: server.startIndex)..<close]
            let rest = server[server.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw DNSConfigurationError("\"\(whole)\": unexpected \"\(rest)\" after \"]\"; \(accepted)") }
                portText = rest.dropFirst()
            }
        } else if server.filter({ $0 == ":" }).count == 1, let colon = server.firstIndex(of: ":") {
            host = server[..<colon]
            portText = server[server.index(after: colon)...]
        }
        guard let address = IPAddress(host) else { throw DNSConfigurationError("\"\(whole)\": \"\(host)\" is not an IP address; \(accepted)") }
        var port: UInt16 = 53
        if let portText {
            guard let value = UInt16(portText), value > 0 else { throw DNSConfigurationError("\"\(whole)\": port \"\(portText)\" is not 1-65535; \(accepted)") }
            port = value
        }
        return (address, port)
    }

    /// True if this upstream is asked about `name`.
    public func serves(_ name: DNSName) -> Bool {
        domains.isEmpty || domains.contains { name.isSubdomain(of: $0) }
    }

    /// The same for a lower-cased wire-form name.
    func serves(canonicalName: [UInt8]) -> Bool {
        domains.isEmpty || domains.contains { DNSName.isSubdomain(canonicalName, of: $0.canonicalWire) }
    }

    /// True if it is asked only for some domains (then it is authoritative for them, for us).
    public var isScoped: Bool { !domains.isEmpty }

    public var endpoint: String { address.family == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    public var description: String {
        domains.isEmpty ? endpoint : "\(endpoint)=\(domains.map { $0.description }.joined(separator: ","))"
    }
}

/// A configuration mistake, named with what is accepted.
public struct DNSConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var result = self
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return result
    }
}
