extension Dictionary where Key == String, Value == String {
    /// Whether every pair of `selector` is present with an equal value (an empty selector matches).
    public func contains(selector: [String: String]) -> Bool {
        selector.allSatisfy { self[$0.key] == $0.value }
    }

    /// `key=value` pairs sorted by key and joined by `,` (the form of `NSM_LABELS`).
    public var labelsDescription: String {
        sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// Parses `k1=v1,k2=v2` or `k1:v1,k2:v2` (both forms appear in upstream's `NSM_LABELS`).
    public static func parseLabels(_ text: String) throws(NSMAPIError) -> [String: String] {
        var labels: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let trimmed = pair.trimmingCharacters(in: " ")
            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }),
                  separator != trimmed.startIndex
            else {
                throw NSMAPIError(field: "labels", value: String(trimmed), expected: "key=value or key:value pairs joined by ','")
            }
            labels[String(trimmed[..<separator])] = String(trimmed[trimmed.index(after: separator)...])
        }
        return labels
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var result = self
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return result
    }
}

extension Registry_NetworkServiceEndpoint {
    /// The labels this endpoint declares for `service`, empty when none.
    public func labels(forService service: String) -> [String: String] {
        networkServiceLabels[service]?.labels ?? [:]
    }

    /// Sets the labels this endpoint declares for `service`.
    public mutating func setLabels(_ labels: [String: String], forService service: String) {
        var entry = Registry_NetworkServiceLabels()
        entry.labels = labels
        networkServiceLabels[service] = entry
    }

    /// Whether the endpoint offers `service`.
    public func offers(_ service: String) -> Bool { networkServiceNames.contains(service) }
}
