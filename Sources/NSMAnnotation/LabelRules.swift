/// Kubernetes' limits for label keys and values, applied wherever a user gives labels (the
/// annotation's `?k=v`, `--labels`): a key is a name of 1-63 characters, optionally behind a
/// prefix of at most 253 characters and `/`; a value has at most 63 characters. The characters
/// themselves are left free (no control characters), as upstream's request labels are: values
/// such as `worker.domain/100G` occur in its deployments.
public enum LabelRules {
    public static let accepted = "label keys of 1-63 characters, optionally behind a prefix of at most 253 characters and '/' (example.com/app); "
        + "values of at most 63 characters"

    /// Why `key` is not a valid label key, or nil.
    public static func keyProblem(_ key: String) -> String? {
        var name = Substring(key)
        if let slash = key.lastIndex(of: "/") {
            let prefix = key[..<slash]
            name = key[key.index(after: slash)...]
            if prefix.isEmpty || prefix.utf8.count > 253 { return "label key \"\(quoted(key))\" has a prefix of \(prefix.utf8.count) characters (1-253)" }
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
        if name.count > 63 { return "is \(name.count) characters long (at most 63)" }
        if let control = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            return "contains control character U+\(String(control.value, radix: 16, uppercase: true))"
        }
        return nil
    }

    /// At most `limit` characters of user input in a message, the rest counted: a message that
    /// echoed a 10,000-character value whole would bury what it says.
    static func quoted(_ text: String, limit: Int = 63) -> String {
        text.count > limit ? "\(text.prefix(limit - 3))…(\(text.count) characters)" : text
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
