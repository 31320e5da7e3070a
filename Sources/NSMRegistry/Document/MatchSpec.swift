import Foundation
public import NSMAPI

/// A NetworkService `match` written on one line, for the command line:
///
/// ```
/// SOURCE -> DESTINATION [| DESTINATION …]
/// ```
///
/// SOURCE and each DESTINATION are `key=value` pairs joined by `,`; SOURCE may be `*` or empty
/// (the match applies to every request). Values may be Go templates of the request's labels, as
/// upstream's, e.g. `* -> app={{.app}}`. Example: `app=foo -> app=foo,version=v1 | app=foo-canary`.
public enum MatchSpec {
    public static let accepted = "SOURCE -> DESTINATION [| DESTINATION …], each a list of key=value pairs joined by ',' (SOURCE may be * for any request), e.g. \"app=foo -> app=foo\" or \"* -> app={{.app}}\""

    public static func parse(_ text: String) throws(NSMAPIError) -> Registry_Match {
        guard let arrow = text.range(of: "->") else {
            throw NSMAPIError(field: "match", value: String(text.prefix(200)), expected: "an arrow \"->\": \(accepted)")
        }
        var match = Registry_Match()
        let source = Self.trimmed(text[..<arrow.lowerBound])
        match.sourceSelector = source == "*" ? [:] : try selector(String(source), of: text, allowEmpty: true)
        for destination in text[arrow.upperBound...].split(separator: "|", omittingEmptySubsequences: false) {
            var route = Registry_Destination()
            route.destinationSelector = try selector(String(destination), of: text, allowEmpty: false)
            match.routes.append(route)
        }
        return match
    }

    static func selector(_ part: String, of text: String, allowEmpty: Bool) throws(NSMAPIError) -> [String: String] {
        let trimmed = Self.trimmed(Substring(part))
        if trimmed.isEmpty {
            guard allowEmpty else {
                throw NSMAPIError(field: "match", value: String(text.prefix(200)), expected: "a destination after \"->\" and around each \"|\": \(accepted)")
            }
            return [:]
        }
        var result: [String: String] = [:]
        for pair in trimmed.split(separator: ",") {
            let item = Self.trimmed(pair)
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw NSMAPIError(field: "match", value: String(text.prefix(200)), expected: "key=value pairs, \"\(item.prefix(80))\" is not one: \(accepted)")
            }
            let key = String(item[..<equals]), value = String(item[item.index(after: equals)...])
            guard result[key] == nil else {
                throw NSMAPIError(field: "match", value: String(text.prefix(200)), expected: "each key once per selector (\"\(key.prefix(63))\" is repeated)")
            }
            result[key] = value
        }
        return result
    }

    /// The match written back in the same one-line form (for status output).
    public static func describe(_ match: Registry_Match) -> String {
        let source = match.sourceSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let routes = match.routes.map { route in
            route.destinationSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        return (source.isEmpty ? "*" : source) + " -> " + routes.joined(separator: " | ") + (match.fallthrough ? " (fallthrough)" : "")
    }

    static func trimmed(_ text: Substring) -> Substring {
        var result = text
        while result.first?.isWhitespace == true { result = result.dropFirst() }
        while result.last?.isWhitespace == true { result = result.dropLast() }
        return result
    }
}
