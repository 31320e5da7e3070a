import Glibc
import Synchronization

/// Finds a path for a namespace known only by its identity (`inode://<dev>/<ino>`), by
/// scanning `/run/netns/*` and `/proc/*/ns/net`. Hits are cached and re-checked on use.
public final class NamespaceResolver: Sendable {
    private let cache = Mutex<[NamespaceIdentity: String]>([:])

    public init() {}

    /// Opens the namespace with `identity`, or throws `.notFound`.
    public func open(_ identity: NamespaceIdentity) throws(NetlinkError) -> NetworkNamespace {
        if let path = cache.withLock({ $0[identity] }), let namespace = try? NetworkNamespace(path: path),
           namespace.identity == identity {
            return namespace
        }
        // Named namespaces first; the /proc scan only when none of them is it.
        for paths in [namedPaths, processPaths] {
            for path in paths() where Self.identity(of: path) == identity {
                if let namespace = try? NetworkNamespace(path: path), namespace.identity == identity {
                    cache.withLock { $0[identity] = path }
                    return namespace
                }
            }
        }
        cache.withLock { _ = $0.removeValue(forKey: identity) }
        throw NetlinkError(
            code: .notFound, errno: ENOENT, operation: "resolve \(identity.url)",
            message: "no process or /run/netns entry holds this network namespace")
    }

    /// Opens `inode://dev/ino`, `file:///path` or a plain path.
    public func open(url: String) throws(NetlinkError) -> NetworkNamespace {
        if let identity = NamespaceIdentity(url: url) { return try open(identity) }
        if url.hasPrefix("file://") { return try NetworkNamespace(path: String(url.dropFirst(7))) }
        if url.hasPrefix("/") { return try NetworkNamespace(path: url) }
        throw NetlinkError(
            code: .invalidArgument, errno: EINVAL, operation: "resolve \(url)",
            message: "expected inode://<dev>/<ino>, file:///<path> or an absolute path")
    }

    private func namedPaths() -> [String] {
        NetworkNamespace.names().map { "\(NetworkNamespace.runDirectory)/\($0)" }
    }

    private func processPaths() -> [String] {
        var paths: [String] = []
        if let proc = opendir("/proc") {
            defer { closedir(proc) }
            while let entry = readdir(proc) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if let first = name.utf8.first, first >= 48, first <= 57 { paths.append("/proc/\(name)/ns/net") }
            }
        }
        return paths
    }

    static func identity(of path: String) -> NamespaceIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return NamespaceIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}
