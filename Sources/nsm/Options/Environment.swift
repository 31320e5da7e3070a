import ArgumentParser
import Foundation
import NSMCore
import Logging
import NSMTelemetry
import ServiceLifecycle
import UnixSignals

/// Upstream-compatible configuration from `NSM_*` environment variables; flags override them.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func list(_ name: String) -> [String]? {
        string(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    static let trueWords: Set<String> = ["1", "true", "yes", "on"]
    static let falseWords: Set<String> = ["0", "false", "no", "off"]

    /// The variable as a boolean; nil when unset or not a boolean (``checkBools(_:)`` refuses those).
    static func bool(_ name: String) -> Bool? {
        guard let value = string(name)?.lowercased() else { return nil }
        return trueWords.contains(value) ? true : falseWords.contains(value) ? false : nil
    }

    /// Refuses variables among `names` that are set to something other than a boolean
    /// (call from a command's `validate()`).
    static func checkBools(_ names: [String]) throws {
        for name in names {
            guard let value = string(name), bool(name) == nil else { continue }
            throw ValidationError("\(name)=\"\(value.prefix(40))\" is not a boolean; accepted: true, false, 1, 0, yes, no, on, off")
        }
    }

    /// A duration from a flag or its variable, the error naming both.
    static func duration(_ text: String, flag: String, variable: String) throws -> Duration {
        do { return try GoDuration.parse(text) } catch {
            throw ValidationError("--\(flag) / \(variable): \(error.message)")
        }
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

/// Loggers of the long-running components, at the level `NSM_LOG_LEVEL` names (upstream's
/// variable and level names: TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC; any case).
enum ComponentLogging {
    static let variable = "NSM_LOG_LEVEL"
    /// `text` (the default) or `json` (one object per line, for log collectors: ``JSONLogHandler``).
    static let formatVariable = "NSM_LOG_FORMAT"

    /// Chooses the format once per process, before the first logger: every logger made after
    /// (libraries' included) writes in it.
    private static let bootstrapped: Bool = {
        switch Environment.string(formatVariable)?.lowercased() {
        case "json":
            LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        case nil, "", "text":
            break
        case let other?:
            FileHandle.standardError.write(Data("\(formatVariable)=\(other) is not a format (text, json); using text\n".utf8))
        }
        return true
    }()

    static func logger(_ label: String) -> Logger {
        _ = bootstrapped
        var logger = Logger(label: label)
        logger.logLevel = level(Environment.string(variable))
        return logger
    }

    static func level(_ text: String?) -> Logger.Level {
        guard let text else { return .info }
        switch text.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "warn", "warning": return .warning
        case "error": return .error
        case "fatal", "panic", "critical": return .critical
        default:
            FileHandle.standardError.write(Data("\(variable)=\(text) is not a level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC); using INFO\n".utf8))
            return .info
        }
    }
}

/// The service group of a long-running server component (registry, node, endpoint): stops on
/// SIGTERM/SIGINT, and cancels its tasks when graceful shutdown takes longer than 3 s — a stream
/// that does not end at shutdown must not keep the process alive until it is killed.
enum ComponentServiceGroup {
    static func make(_ services: [any Service], logger: Logger) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(3)
        return ServiceGroup(configuration: configuration)
    }
}
