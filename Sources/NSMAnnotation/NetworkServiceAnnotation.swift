/// The value of a pod's `networkservicemesh.io` annotation: the network services it asks for.
///
/// Grammar (one item per requested service, items separated by commas, whitespace around
/// items ignored):
///
///     item      = mechanism "://" service [ "@" domain ] [ "/" interface ] [ "?" labels ]
///     mechanism = "kernel"                        ; case-insensitive
///     service   = DNS label: 1-63 of a-z 0-9 "-", starting and ending with a letter or digit
///     domain    = DNS name: labels as above joined by ".", at most 253 characters
///     interface = 1-15 of A-Z a-z 0-9 "-" "_" ".", not "." or ".."
///     labels    = key "=" value *( "&" key "=" value )   ; URL-encoded
///
/// Example: `kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2`.
public struct NetworkServiceAnnotation: Sendable, Hashable, Codable {
    /// The annotation key on pods and namespaces.
    public static let key = "networkservicemesh.io"

    /// The most bytes a value may have: the API server's bound on all of an object's annotations
    /// together (256 KiB), so no value it would store is refused here.
    public static let maximumLength = 256 << 10
    /// The most services one pod may ask for (each is an interface, a connection and a sidecar
    /// refresh loop; upstream sets no bound).
    public static let maximumItems = 64

    /// The requested services, in annotation order.
    public var services: [RequestedService]

    public init(services: [RequestedService]) { self.services = services }

    /// Parses an annotation value, generating missing interface names with the system's
    /// random number generator.
    public static func parse(_ value: String) throws(AnnotationError) -> NetworkServiceAnnotation {
        var generator = SystemRandomNumberGenerator()
        return try parse(value, using: &generator)
    }

    /// Parses an annotation value, generating missing interface names from `generator`
    /// (pass a seeded generator for reproducible names).
    public static func parse(
        _ value: String, using generator: inout some RandomNumberGenerator
    ) throws(AnnotationError) -> NetworkServiceAnnotation {
        if value.utf8.count > maximumLength {
            throw AnnotationError(
                code: .tooLarge, position: nil, itemCount: 0, item: nil,
                problem: "the value is \(value.utf8.count) bytes long",
                accepted: "at most \(maximumLength) bytes (the API server's bound on all of a pod's annotations)")
        }
        let items = value.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingASCIIWhitespace()
        }
        if items.allSatisfy(\.isEmpty) {
            throw AnnotationError(
                code: .emptyAnnotation, position: nil, itemCount: 0, item: nil,
                problem: "the value is empty; it must name at least one network service",
                accepted: "a comma-separated list such as kernel://my-service or kernel://my-service/nsm-1?app=foo")
        }
        if items.count > maximumItems {
            throw AnnotationError(
                code: .tooLarge, position: nil, itemCount: items.count, item: nil,
                problem: "the value asks for \(items.count) network services",
                accepted: "at most \(maximumItems) per pod")
        }
        var parsed: [ParsedItem] = []
        for (index, item) in items.enumerated() {
            let context = ItemParser.Context(position: index + 1, itemCount: items.count, text: item)
            parsed.append(try ItemParser.parse(context))
        }
        return try resolveInterfaceNames(parsed, itemCount: items.count, using: &generator)
    }

    private static func resolveInterfaceNames(
        _ items: [ParsedItem], itemCount: Int, using generator: inout some RandomNumberGenerator
    ) throws(AnnotationError) -> NetworkServiceAnnotation {
        var taken: [String: ParsedItem] = [:]
        for item in items {
            guard let name = item.interfaceName else { continue }
            if let first = taken[name] {
                throw AnnotationError(
                    code: .duplicateInterfaceName, position: item.context.position, itemCount: itemCount,
                    item: item.context.text,
                    problem: "interface name \"\(name)\" is already requested by item \(first.context.position) "
                        + "(\"\(first.context.text)\"); each service needs its own interface",
                    accepted: "a distinct interface name per item, or none to have one generated")
            }
            taken[name] = item
        }
        var services: [RequestedService] = []
        for item in items {
            var name = item.interfaceName
            if name == nil {
                var candidate = InterfaceNameGenerator.name(forService: item.service, using: &generator)
                while taken[candidate] != nil {
                    candidate = InterfaceNameGenerator.name(forService: item.service, using: &generator)
                }
                taken[candidate] = item
                name = candidate
            }
            services.append(
                RequestedService(
                    mechanism: item.mechanism, service: item.service, domain: item.domain,
                    interfaceName: name!, interfaceNameGenerated: item.interfaceName == nil, labels: item.labels))
        }
        return NetworkServiceAnnotation(services: services)
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}

/// The rule for network service names wherever a user gives one (annotation, flags, files).
public enum NetworkServiceName {
    /// Why `name` is not a valid network service name (quoting at most 63 characters of it), or nil.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "the network service name is empty; accepted: \(ItemParser.labelRule)" }
        guard let problem = ItemParser.dnsLabelProblem(name) else { return nil }
        let shown = name.count > 63 ? "\(name.prefix(60))…" : name
        return "network service name \"\(shown)\" \(problem); accepted: \(ItemParser.labelRule)"
    }
}
