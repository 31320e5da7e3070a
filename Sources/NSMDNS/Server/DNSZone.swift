public import IPAddressing

/// A small authoritative zone: address records, optionally "self" names that answer with the
/// address the query arrived on (an endpoint reachable at a different address per connection).
///
/// Answers: records of the asked type (A, AAAA or ANY) with AA set; NODATA with the SOA when
/// the name exists without that type; NXDOMAIN with the SOA when it does not exist; REFUSED for
/// names outside the zone.
public struct DNSZone: Sendable {
    public let origin: DNSName
    public var ttl: UInt32
    private(set) var addresses: [DNSName: [IPAddress]] = [:]
    private(set) var selfNames: Set<DNSName> = []

    public init(origin: DNSName, ttl: UInt32 = 30) {
        self.origin = origin
        self.ttl = ttl
    }

    /// Adds `NAME=IP` or `NAME=self`; NAME is relative to the origin unless it ends with a dot
    /// (`@` is the origin itself).
    public mutating func add(parsing text: String) throws(DNSConfigurationError) {
        let accepted = "accepted: NAME=IP or NAME=self, NAME relative to the zone (\(origin)) or absolute with a trailing dot, @ for the zone itself"
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw DNSConfigurationError("record \"\(text)\": no NAME=; \(accepted)")
        }
        let nameText = String(text[..<equals]), value = String(text[text.index(after: equals)...])
        let name: DNSName
        do {
            if nameText == "@" { name = origin }
            else if nameText.hasSuffix(".") { name = try DNSName(nameText) }
            else { name = try DNSName(nameText + "." + origin.description) }
        } catch {
            throw DNSConfigurationError("record \"\(text)\": \(error); \(accepted)")
        }
        guard name.isSubdomain(of: origin) else { throw DNSConfigurationError("record \"\(text)\": \(name) is outside the zone \(origin); \(accepted)") }
        if value == "self" {
            selfNames.insert(name)
        } else if let address = IPAddress(value) {
            addresses[name, default: []].append(address)
        } else {
            throw DNSConfigurationError("record \"\(text)\": \"\(value)\" is neither an IP address nor self; \(accepted)")
        }
    }

    public mutating func add(_ name: DNSName, _ address: IPAddress) { addresses[name, default: []].append(address) }

    var soa: DNSRecord {
        let primary = (try? DNSName("ns." + origin.description)) ?? origin
        let mailbox = (try? DNSName("hostmaster." + origin.description)) ?? origin
        return DNSRecord(name: origin, type: .soa, ttl: ttl, data: .soa(DNSStartOfAuthority(primary: primary, mailbox: mailbox, serial: 1, minimum: ttl)))
    }

    private func exists(_ name: DNSName) -> Bool {
        name == origin || addresses[name] != nil || selfNames.contains(name)
            || addresses.keys.contains { $0.isSubdomain(of: name) } || selfNames.contains { $0.isSubdomain(of: name) }
    }

    /// The authoritative answer to `query`; `local` is the address the query was sent to.
    public func answer(_ query: DNSMessage, local: IPAddress?) -> DNSMessage {
        guard query.header.opcode == 0 else { return query.response(rcode: .notImp) }
        guard query.questions.count == 1, let question = query.question else { return query.response(rcode: .formErr) }
        guard question.dnsClass == .internet, question.name.isSubdomain(of: origin) else { return query.response(rcode: .refused) }
        var response = query.response(rcode: .noError)
        response.header.isAuthoritative = true
        response.header.recursionAvailable = false
        var found = addresses[question.name] ?? []
        if selfNames.contains(question.name), let local { found.append(local) }
        for address in found {
            switch (address, question.type) {
            case (.v4(let v4), .a), (.v4(let v4), .any): response.answers.append(.a(question.name, v4, ttl: ttl))
            case (.v6(let v6), .aaaa), (.v6(let v6), .any): response.answers.append(.aaaa(question.name, v6, ttl: ttl))
            default: break
            }
        }
        if question.type == .soa, question.name == origin { response.answers.append(soa) }
        if response.answers.isEmpty {
            if !exists(question.name) { response.header.rcode = .nxDomain }
            response.authorities = [soa]
        }
        return response
    }
}
