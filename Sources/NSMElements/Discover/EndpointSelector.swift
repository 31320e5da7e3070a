public import NSMAPI

/// Applies a NetworkService's `matches` to choose endpoints for a request, as upstream does:
///
/// 1. No matches: every candidate.
/// 2. Otherwise the first match whose `source_selector` pairs are all in the request labels
///    (selector values may be templates such as `{{.nodeName}}`, rendered with the labels)
///    applies: the result is the candidates whose labels for the service contain every pair of
///    any of its routes' `destination_selector` (also rendered).
/// 3. An empty result with `fallthrough` moves on to the next applicable match; a match with
///    `metadata` but no routes yields every candidate; no applicable match yields none.
public enum EndpointSelector {
    public static func select(
        service: Registry_NetworkService, labels: [String: String], candidates: [Registry_NetworkServiceEndpoint]
    ) -> [Registry_NetworkServiceEndpoint] {
        if service.matches.isEmpty { return candidates }
        for match in service.matches {
            let source = render(match.sourceSelector, with: labels)
            guard labels.contains(selector: source) else { continue }
            if match.routes.isEmpty {
                if match.hasMetadata { return candidates }
                if match.fallthrough { continue }
                return []
            }
            var chosen: [Registry_NetworkServiceEndpoint] = []
            for candidate in candidates {
                let endpointLabels = candidate.labels(forService: service.name)
                if match.routes.contains(where: { endpointLabels.contains(selector: render($0.destinationSelector, with: labels)) }) {
                    chosen.append(candidate)
                }
            }
            if chosen.isEmpty, match.fallthrough { continue }
            return chosen
        }
        return []
    }

    /// Forwarder selection: forwarders whose labels (under service `forwarder`) contain the first
    /// applicable match's `metadata.labels`; default required labels `p2p: "true"`.
    public static func selectForwarders(
        service: Registry_NetworkService?, labels: [String: String], forwarders: [Registry_NetworkServiceEndpoint],
        forwarderService: String = "forwarder"
    ) -> [Registry_NetworkServiceEndpoint] {
        var required = ["p2p": "true"]
        if let service {
            for match in service.matches where labels.contains(selector: render(match.sourceSelector, with: labels)) {
                if match.hasMetadata { required = render(match.metadata.labels, with: labels) }
                break
            }
        }
        return forwarders.filter { $0.labels(forService: forwarderService).contains(selector: required) }
    }

    /// Renders Go-template label references (`{{.name}}`, `{{ .name }}`) with `labels`;
    /// unknown names render empty, as Go's text/template does with a map.
    public static func render(_ selector: [String: String], with labels: [String: String]) -> [String: String] {
        selector.mapValues { render($0, with: labels) }
    }

    public static func render(_ template: String, with labels: [String: String]) -> String {
        guard template.contains("{{") else { return template }
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                output += rest[open.lowerBound...]
                return output
            }
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: " ")
            if expression.hasPrefix(".") {
                output += labels[String(expression.dropFirst())] ?? ""
            } else {
                output += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var result = self
        while result.first == character { result = result.dropFirst() }
        while result.last == character { result = result.dropLast() }
        return result
    }
}
