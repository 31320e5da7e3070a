import Glibc

/// The pod's resolv.conf while the proxy runs: `nameserver 127.0.0.1`, the cluster's search
/// list followed by the services' domains, the original options; the original file kept inside,
/// each line behind `#nsm-original `, and put back by ``restore()``.
///
/// Idempotent across restarts: a file that already carries the saved original is read from the
/// saved lines, so a proxy that crashed and restarted does not take its own file for the original.
/// Written in place (not renamed), so a bind-mounted resolv.conf keeps working.
public struct PodResolvConf: Sendable {
    static let header = "# Written by the nsm DNS proxy. The original lines follow after \"#nsm-original \" and are restored on exit."
    static let savedPrefix = "#nsm-original "

    public let path: String
    /// The file as it was before any proxy touched it.
    public let originalText: String
    public var original: ResolvConf { ResolvConf(parsing: originalText) }

    /// Reads `path` and remembers the original (from the saved lines if we wrote it before).
    public init(path: String) throws(ResolvConfError) {
        self.path = path
        let text = try Self.read(path)
        if text.hasPrefix(Self.header) {
            originalText = text.split(separator: "\n").filter { $0.hasPrefix(Self.savedPrefix) }
                .map { $0.dropFirst(Self.savedPrefix.count) }.joined(separator: "\n") + "\n"
        } else {
            originalText = text
        }
    }

    /// Writes the proxied version: `nameserver <listen>`, search = cluster's + `extraSearch`.
    public func install(nameserver: String = "127.0.0.1", extraSearch: [String] = []) throws(ResolvConfError) {
        let original = self.original
        var mine = ResolvConf(nameservers: [nameserver], options: original.options)
        for domain in original.search + extraSearch where !mine.search.contains(domain) { mine.search.append(domain) }
        var lines = [Self.header]
        lines += originalText.split(separator: "\n", omittingEmptySubsequences: false).dropLast(originalText.hasSuffix("\n") ? 1 : 0)
            .map { Self.savedPrefix + $0 }
        try Self.write(lines.joined(separator: "\n") + "\n" + mine.rendered, to: path)
    }

    /// Puts the original file back.
    public func restore() throws(ResolvConfError) {
        try Self.write(originalText, to: path)
    }

    static func read(_ path: String) throws(ResolvConfError) -> String {
        guard let file = fopen(path, "r") else { throw ResolvConfError(path: path, operation: "read", errno: errno) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func write(_ text: String, to path: String) throws(ResolvConfError) {
        guard let file = fopen(path, "w") else { throw ResolvConfError(path: path, operation: "write", errno: errno) }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else { throw ResolvConfError(path: path, operation: "write", errno: errno) }
    }
}

public struct ResolvConfError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var errno: Int32
    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
}
