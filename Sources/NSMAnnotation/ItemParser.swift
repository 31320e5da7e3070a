/// Parses one item (`kernel://service@domain/ifname?k=v`) of an annotation value.
enum ItemParser {
    struct Context: Sendable {
        var position: Int
        var itemCount: Int
        var text: String

        func error(_ code: AnnotationError.Code, _ problem: String, accepted: String) -> AnnotationError {
            AnnotationError(
                code: code, position: position, itemCount: itemCount, item: text, problem: problem, accepted: accepted)
        }
    }

    static let itemExample = "kernel://<service>[@<domain>][/<interface>][?key=value&...], e.g. kernel://my-service/nsm-1?app=foo"

    static func parse(_ context: Context) throws(AnnotationError) -> ParsedItem {
        let text = context.text
        if text.isEmpty {
            throw context.error(
                .emptyItem, "the item is empty (two commas in a row, or a comma at the start or end)",
                accepted: itemExample)
        }
        if let offset = text.firstIndex(where: { $0.isWhitespace }).map({ text.distance(from: text.startIndex, to: $0) }) {
            throw context.error(
                .whitespaceInItem, "contains whitespace at character \(offset + 1); only the space around items is ignored",
                accepted: "no spaces inside an item; write a space in a label value as %20")
        }
        let mechanism = try parseMechanism(text, context)
        var rest = Substring(text[text.firstRange(of: "://")!.upperBound...])

        if let hash = rest.firstIndex(of: "#") {
            throw context.error(
                .fragmentNotAllowed, "contains a fragment (\"\(rest[hash...])\")",
                accepted: "nothing after the labels; '#' has no meaning here")
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[slash...]
            rest = rest[..<slash]
        }
        let (service, domain) = try parseAuthority(rest, context)
        let interfaceName = try parseInterfaceName(path, service: service, context)
        let labels = try parseLabels(query, context)
        return ParsedItem(
            context: context, mechanism: mechanism, service: service, domain: domain,
            interfaceName: interfaceName, labels: labels)
    }

    // MARK: - Mechanism

    private static func parseMechanism(_ text: String, _ context: Context) throws(AnnotationError) -> AnnotationMechanism {
        let supported = AnnotationMechanism.allCases.map(\.rawValue).joined(separator: ", ")
        guard let separator = text.firstRange(of: "://") else {
            let guess = text.contains(":") ? "\"://\" is missing after the mechanism" : "no mechanism given"
            throw context.error(
                .missingScheme, "\(guess); an item must start with a mechanism such as kernel://",
                accepted: "kernel://\(text.split(separator: ":").last ?? "")")
        }
        let scheme = text[..<separator.lowerBound]
        if scheme.isEmpty {
            throw context.error(.missingScheme, "the mechanism before \"://\" is empty", accepted: "kernel://…")
        }
        guard let mechanism = AnnotationMechanism(rawValue: scheme.lowercased()) else {
            throw context.error(
                .unsupportedMechanism, "mechanism \"\(scheme)\" is not supported",
                accepted: "\(supported) (case-insensitive), as in kernel://my-service/nsm-1")
        }
        return mechanism
    }

    // MARK: - Service and domain

    private static func parseAuthority(
        _ authority: Substring, _ context: Context
    ) throws(AnnotationError) -> (String, String?) {
        let parts = authority.split(separator: "@", omittingEmptySubsequences: false)
        if parts.count > 2 {
            throw context.error(
                .invalidDomain, "contains more than one '@'",
                accepted: "at most one '@', separating the service from its domain: kernel://my-service@my.domain")
        }
        let hostPart = parts.last!
        if let colon = hostPart.firstIndex(of: ":") {
            throw context.error(
                .portNotAllowed, "\"\(hostPart[colon...])\" looks like a port; a network service has no port "
                    + "(upstream drops it silently, which hides typos)",
                accepted: "kernel://\(parts.count == 2 ? "\(parts[0])@" : "")\(hostPart[..<colon])")
        }
        if parts.count == 2, parts[0].contains(":") {
            throw context.error(
                .credentialsNotAllowed, "\"\(parts[0])\" looks like user:password; only service@domain is meaningful",
                accepted: "kernel://my-service@my.domain")
        }
        let service = String(parts[0])
        try validateService(service, context)
        var domain: String?
        if parts.count == 2 {
            domain = String(parts[1])
            try validateDomain(domain!, context)
        }
        return (service, domain)
    }

    static let labelRule = "1-63 characters from a-z, 0-9 and '-', starting and ending with a letter or digit"

    private static func validateService(_ service: String, _ context: Context) throws(AnnotationError) {
        if service.isEmpty {
            throw context.error(.invalidService, "the network service name is empty", accepted: itemExample)
        }
        if let problem = dnsLabelProblem(service) {
            var accepted = "a service name of \(labelRule)"
            if dnsLabelProblem(service.lowercased()) == nil { accepted += "; did you mean \"\(service.lowercased())\"?" }
            throw context.error(.invalidService, "network service name \"\(LabelRules.quoted(service))\" \(problem)", accepted: accepted)
        }
    }

    private static func validateDomain(_ domain: String, _ context: Context) throws(AnnotationError) {
        let accepted = "a DNS domain of labels (\(labelRule)) joined by '.', at most 253 characters, e.g. my.cluster1"
        if domain.isEmpty {
            throw context.error(.invalidDomain, "the domain after '@' is empty", accepted: accepted)
        }
        if domain.utf8.count > 253 {
            throw context.error(.invalidDomain, "the domain is \(domain.utf8.count) characters long", accepted: accepted)
        }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty {
                throw context.error(.invalidDomain, "domain \"\(domain)\" has an empty label (\"..\" or a dot at an end)", accepted: accepted)
            }
            if let problem = dnsLabelProblem(String(label)) {
                throw context.error(.invalidDomain, "domain label \"\(label)\" \(problem)", accepted: accepted)
            }
        }
    }

    /// Why `label` is not an RFC 1123 label, or `nil` when it is one.
    static func dnsLabelProblem(_ label: String) -> String? {
        if label.utf8.count > 63 { return "is \(label.utf8.count) characters long (at most 63)" }
        for character in label {
            // ASCII only: a letter with combining marks (one Character, several scalars) compares
            // inside "a"..."z" — found by fuzzing: such a name got through, and its generated
            // interface names were too long or never unique.
            let ok = character.isASCII && (character == "-" || ("a"..."z").contains(character) || ("0"..."9").contains(character))
            if !ok {
                if ("A"..."Z").contains(character) { return "contains upper-case \"\(character)\"" }
                return "contains \"\(character)\", which is not allowed"
            }
        }
        if label.hasPrefix("-") || label.hasSuffix("-") { return "starts or ends with '-'" }
        return nil
    }

    // MARK: - Interface name

    static let interfaceRule = "1-15 bytes from A-Z, a-z, 0-9, '-', '_' and '.', not \".\" or \"..\""

    private static func parseInterfaceName(
        _ path: Substring, service: String, _ context: Context
    ) throws(AnnotationError) -> String? {
        if path.isEmpty || path == "/" { return nil }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if segments.count > 1 {
            let last = segments.last(where: { !$0.isEmpty }) ?? ""
            throw context.error(
                .nestedPath, "the path \"\(path)\" has \(segments.count) segments; only one, the interface name, is accepted",
                accepted: "kernel://\(service)/\(last.isEmpty ? "nsm-1" : String(last))")
        }
        let name = try percentDecode(segments[0], what: "interface name", plusIsSpace: false, context)
        if name.utf8.count > InterfaceNameGenerator.maximumLength {
            throw context.error(
                .invalidInterfaceName, "interface name \"\(name)\" is \(name.utf8.count) bytes long; Linux allows at most 15",
                accepted: "an interface name of \(interfaceRule)")
        }
        if name == "." || name == ".." {
            throw context.error(.invalidInterfaceName, "\"\(name)\" cannot name an interface", accepted: "an interface name of \(interfaceRule)")
        }
        if let bad = name.first(where: { !isInterfaceCharacter($0) }) {
            throw context.error(
                .invalidInterfaceName, "interface name \"\(name)\" contains \"\(bad)\", which is not allowed",
                accepted: "an interface name of \(interfaceRule)")
        }
        return name
    }

    static func isInterfaceCharacter(_ c: Character) -> Bool {
        guard c.isASCII else { return false }
        return ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_" || c == "."
    }

    // MARK: - Labels

    static let labelsAccepted = "labels as key=value pairs joined by '&', URL-encoded, e.g. ?app=foo&version=v1.1"

    private static func parseLabels(_ query: Substring, _ context: Context) throws(AnnotationError) -> [String: String] {
        var labels: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw context.error(.invalidLabel, "label \"\(pair)\" has no '=' and no value", accepted: labelsAccepted)
            }
            let key = try percentDecode(pair[..<equals], what: "label key", plusIsSpace: true, context)
            let value = try percentDecode(pair[pair.index(after: equals)...], what: "label value", plusIsSpace: true, context)
            if key.isEmpty {
                throw context.error(.invalidLabel, "label \"\(pair)\" has an empty key", accepted: labelsAccepted)
            }
            if let control = (key + value).unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
                throw context.error(
                    .invalidLabel, "label \"\(pair)\" contains control character U+\(String(control.value, radix: 16, uppercase: true))",
                    accepted: labelsAccepted)
            }
            if let problem = LabelRules.keyProblem(key) ?? LabelRules.valueProblem(value) {
                throw context.error(.invalidLabel, problem, accepted: LabelRules.accepted)
            }
            if let existing = labels[key] {
                labels[key] = existing + "," + value
            } else {
                labels[key] = value
            }
        }
        return labels
    }

    private static func percentDecode(
        _ text: Substring, what: String, plusIsSpace: Bool, _ context: Context
    ) throws(AnnotationError) -> String {
        guard text.contains("%") || (plusIsSpace && text.contains("+")) else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2, let high = hexValue(utf8.popFirst()!), let low = hexValue(utf8.popFirst()!) else {
                    throw context.error(
                        .invalidEscape, "\(what) \"\(text)\" has a '%' not followed by two hex digits",
                        accepted: "percent-encoding such as %20 for a space or %2F for '/'")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw context.error(
                .invalidEscape, "\(what) \"\(text)\" decodes to bytes that are not UTF-8",
                accepted: "percent-encoded UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
