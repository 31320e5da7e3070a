/// Kubernetes' rules for label keys and values, applied wherever a user gives labels (the
/// annotation's `?k=v`, `--labels`): a key is a name of 1-63 characters from `A-Z a-z 0-9 - _ .`
/// that begins and ends with a letter or digit, optionally behind a DNS-subdomain prefix and `/`
/// (at most 253 characters); a value is empty or such a name.
public enum LabelRules {
    public static let accepted = "label keys of 1-63 characters from A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit, "
        + "optionally behind a DNS prefix and '/' (example.com/app); values empty or of the same form"

    /// Why `key` is not a valid label key, or nil.
    public static func keyProblem(_ key: String) -> String? {
        var name = Substring(key)
        if let slash = key.lastIndex(of: "/") {
            let prefix = key[..<slash]
            name = key[key.index(after: slash)...]
            if prefix.isEmpty || prefix.utf8.count > 253 { return "label key \"\(quoted(key))\" has a prefix of \(prefix.utf8.count) characters (1-253)" }
            for part in prefix.split(separator: ".", omittingEmptySubsequences: false) {
                if let problem = ItemParser.dnsLabelProblem(String(part)), !part.isEmpty {
                    return "label key prefix \"\(quoted(String(prefix)))\" \(problem)"
                } else if part.isEmpty {
                    return "label key prefix \"\(quoted(String(prefix)))\" has an empty part"
                }
            }
        }
        if name.isEmpty { return "label key \"\(quoted(key))\" has an empty name" }
        return nameProblem(name).map { "label key \"\(quoted(key))\" \($0)" }
    }

    /// Why `value` is not a valid label value, or nil.
    public static func valueProblem(_ value: String) -> String? {
        value.isEmpty ? nil : nameProblem(Substring(value)).map { "label value \"\(quoted(value))\" \($0)" }
    }

    /// Parses `k=v,k2=v2` (or `k:v`, as upstream's `NSM_LABELS`), checking every key and value.
    public static func parse(_ text: String) throws(LabelError) -> [String: String] {
        var labels: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let item = pair.trimmingSpaces()
            guard let separator = item.firstIndex(where: { $0 == "=" || $0 == ":" }), separator != item.startIndex else {
                throw LabelError(description: "\"\(quoted(String(item)))\" is not key=value; accepted: pairs joined by ',', \(accepted)")
            }
            let key = String(item[..<separator]), value = String(item[item.index(after: separator)...])
            if let problem = keyProblem(key) ?? valueProblem(value) { throw LabelError(description: "\(problem); accepted: \(accepted)") }
            labels[key] = value
        }
        return labels
    }

    static func nameProblem(_ name: Substring) -> String? {
        if name.utf8.count > 63 { return "is \(name.utf8.count) characters long (at most 63)" }
        for character in name where !(character.isASCII && (character.isLetter || character.isNumber || "-_.".contains(character))) {
            return "contains \"\(character)\", which is not allowed"
        }
        guard let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else {
            return "must start and end with a letter or digit"
        }
        return nil
    }

    /// At most 63 characters of user input in a message, the rest counted.
    static func quoted(_ text: String) -> String {
        text.count > 63 ? "\(text.prefix(60))…(\(text.count) characters)" : text
    }
}

public struct LabelError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}
