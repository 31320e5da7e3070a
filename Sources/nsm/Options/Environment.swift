import Foundation
import NSMCore

/// Upstream-compatible configuration from `NSM_*` environment variables; flags override them.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func list(_ name: String) -> [String]? {
        string(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    static func bool(_ name: String) -> Bool? {
        string(name).map { ["1", "true", "yes", "on"].contains($0.lowercased()) }
    }
}

/// Parses Go-style durations as upstream's env uses them: `1m`, `30s`, `500ms`, `1m30s`, `2h`.
enum GoDuration {
    static func parse(_ text: String) throws(NSMError) -> Duration {
        var total = 0.0
        var number = ""
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { throw .invalidArgument("empty duration; expected e.g. 30s, 1m, 500ms") }
        while !rest.isEmpty {
            number = String(rest.prefix { $0.isNumber || $0 == "." })
            rest = rest.dropFirst(number.count)
            let unit = String(rest.prefix { $0.isLetter })
            rest = rest.dropFirst(unit.count)
            let scale: Double? = ["h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000_001, "µs": 0.000_001, "ns": 1e-9][unit]
            guard let value = Double(number), let scale else {
                throw .invalidArgument("duration \"\(text)\" is not like 30s, 1m, 1m30s or 500ms")
            }
            total += value * scale
        }
        return .milliseconds(Int((total * 1000).rounded()))
    }
}

/// Parses an `NSM_LISTEN_ON`-style URL, turning `tcp://:5002` into all interfaces.
func listenURL(_ text: String) throws -> NSMURL {
    try NSMURL(text.replacingOccurrences(of: "tcp://:", with: "tcp://0.0.0.0:"))
}

func printFlushed(_ line: String) {
    print(line)
    fflush(nil)
}
