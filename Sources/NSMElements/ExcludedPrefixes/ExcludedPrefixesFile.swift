import Foundation
public import IPAddressing
import Synchronization
import Yams

/// The cluster's excluded prefixes, read from a YAML file with a `Prefixes:` list (as the
/// upstream collector writes it; `prefixes:` is accepted too; parsed with Yams) and re-read whenever the file
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

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Parses the file as YAML (any spelling: block or flow list, quoted or not, comments,
    /// anchors): a mapping whose `Prefixes` (or `prefixes`) key holds a list of CIDR prefixes (an
    /// address alone is a host prefix). Other keys are ignored; an empty file or no key is no prefix.
    public static func parse(_ text: String) throws -> [IPPrefix] {
        let document: Node?
        do { document = try Yams.compose(yaml: text) } catch {
            throw ParseError(description: "not valid YAML: \(error)")
        }
        guard let document else { return [] }
        guard let mapping = document.mapping else {
            throw ParseError(description: "\(location(document))expected a mapping with a Prefixes: list, such as \"Prefixes: [10.96.0.0/12]\"")
        }
        guard let list = mapping.first(where: { ["Prefixes", "prefixes"].contains($0.key.string) })?.value else { return [] }
        if list.null != nil { return [] }
        guard let items = list.sequence else {
            throw ParseError(description: "\(location(list))Prefixes: expected a list of CIDR prefixes (\"- 10.96.0.0/12\"), got \(describe(list))")
        }
        return try items.map { item in
            guard let text = item.scalar?.string, let prefix = IPPrefix(text, requireLength: false) else {
                throw ParseError(description: "\(location(item))\(describe(item)) is not a CIDR prefix such as 10.96.0.0/12")
            }
            return prefix.network
        }
    }

    private static func location(_ node: Node) -> String {
        node.mark.map { "line \($0.line): " } ?? ""
    }

    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
