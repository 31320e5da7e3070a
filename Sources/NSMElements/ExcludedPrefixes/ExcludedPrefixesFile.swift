import Foundation
public import IPAddressing
import Synchronization

/// The cluster's excluded prefixes, read from a YAML file with a `Prefixes:` list (as the
/// upstream collector writes it; `prefixes:` is accepted too) and re-read whenever the file
/// changes. A malformed file keeps the last good list and reports why in ``lastError``.
public final class ExcludedPrefixesFile: Sendable {
    public let path: String
    private struct State {
        var stamp: FileStamp?
        var read = false
        var prefixes: [IPPrefix] = []
        var lastError: String?
    }
    private let state = Mutex(State())

    public init(path: String) { self.path = path }

    /// The current prefixes (re-reads the file if it was replaced, or its modification time or
    /// size changed). Asked on every request: one `stat`, nothing more, when nothing changed.
    public var prefixes: [IPPrefix] {
        let stamp = FileStamp(path: path)
        return state.withLock { state in
            guard !state.read || state.stamp != stamp else { return state.prefixes }
            state.read = true
            state.stamp = stamp
            guard stamp != nil else {
                state.prefixes = []
                state.lastError = nil
                return []
            }
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                state.prefixes = try Self.parse(text)
                state.lastError = nil
            } catch {
                state.lastError = "\(path): \(error)"
            }
            return state.prefixes
        }
    }

    /// What tells one version of the file from another without reading it.
    struct FileStamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var seconds: Int
        var nanoseconds: Int

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            seconds = info.st_mtim.tv_sec
            nanoseconds = info.st_mtim.tv_nsec
        }
    }

    /// Why the last read failed, if it did.
    public var lastError: String? { state.withLock { $0.lastError } }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses `Prefixes:` followed by a block list (`- 10.96.0.0/12`) or a flow list
    /// (`[10.96.0.0/12, "10.244.0.0/16"]`). Other keys are ignored.
    public static func parse(_ text: String) throws -> [IPPrefix] {
        var result: [IPPrefix] = []
        var inList = false
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let indented = line.first == " " || line.first == "\t"
            if !indented, let colon = trimmed.firstIndex(of: ":"), !trimmed.hasPrefix("-") {
                let key = trimmed[..<colon].lowercased()
                inList = key == "prefixes"
                let rest = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if inList, rest.hasPrefix("[") {
                    guard rest.hasSuffix("]") else { throw ParseError(description: "line \(number + 1): unterminated [ list") }
                    for item in rest.dropFirst().dropLast().split(separator: ",") {
                        result.append(try prefix(item, line: number + 1))
                    }
                    inList = false
                } else if inList, !rest.isEmpty {
                    throw ParseError(description: "line \(number + 1): expected a list after Prefixes:, got \"\(rest)\"")
                }
                continue
            }
            if inList {
                guard trimmed.hasPrefix("-") else { throw ParseError(description: "line \(number + 1): expected \"- <prefix>\"") }
                result.append(try prefix(trimmed.dropFirst(), line: number + 1))
            }
        }
        return result
    }

    static func prefix(_ text: some StringProtocol, line: Int) throws -> IPPrefix {
        let cleaned = text.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        guard let prefix = IPPrefix(cleaned, requireLength: false) else {
            throw ParseError(description: "line \(line): \"\(cleaned)\" is not a CIDR prefix such as 10.96.0.0/12")
        }
        return prefix.network
    }
}
