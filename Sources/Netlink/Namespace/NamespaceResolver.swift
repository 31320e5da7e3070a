import Glibc
import Synchronization

/// Finds a path for a namespace known only by its identity (`inode://<dev>/<ino>`), by
/// scanning `/run/netns/*` and `/proc/*/ns/net`. Hits are cached and re-checked on use. The
/// identity of every `/run/netns` entry is remembered too, so a scan for a new namespace stats
/// only the entries that appeared since the last one (a node with a thousand pods would
/// otherwise stat a thousand files per request).
public final class NamespaceResolver: Sendable {
    private struct State {
        var hits: [NamespaceIdentity: String] = [:]
        var named: [String: NamespaceIdentity] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Opens the namespace with `identity`, or throws `.notFound`.
    public func open(_ identity: NamespaceIdentity) throws(NetlinkError) -> NetworkNamespace {
        if let path = state.withLock({ $0.hits[identity] }), let namespace = Self.open(path, expecting: identity) {
            return namespace
        }
        // Named namespaces first (remembered identities, then everything re-read in case a
        // name was reused); the /proc scan only when none of them is it.
        let sources: [() -> [String]] = [
            { self.namedCandidates(for: identity, trustRemembered: true) },
            { self.namedCandidates(for: identity, trustRemembered: false) },
            { self.processPaths() },
        ]
        for source in sources {
            for path in source() where Self.identity(of: path) == identity {
                guard let namespace = Self.open(path, expecting: identity) else { continue }
                state.withLock { $0.hits[identity] = path }
                return namespace
            }
        }
        state.withLock { _ = $0.hits.removeValue(forKey: identity) }
        throw NetlinkError(
            code: .notFound, errno: ENOENT, operation: "resolve \(identity.url)",
            message: "no process or /run/netns entry holds this network namespace")
    }

    /// Forgets a namespace (e.g. its pod is gone), so the caches do not grow without bound.
    public func forget(_ identity: NamespaceIdentity) {
        state.withLock { state in
            if let path = state.hits.removeValue(forKey: identity) { state.named.removeValue(forKey: path) }
        }
    }

    private static func open(_ path: String, expecting identity: NamespaceIdentity) -> NetworkNamespace? {
        guard let namespace = try? NetworkNamespace(path: path), namespace.identity == identity else { return nil }
        return namespace
    }

    /// `/run/netns` entries whose identity is `identity`: from remembered identities (stat
    /// only for new entries), or all re-read.
    private func namedCandidates(for identity: NamespaceIdentity, trustRemembered: Bool) -> [String] {
        let paths = NetworkNamespace.unsortedNames().map { "\(NetworkNamespace.runDirectory)/\($0)" }
        let remembered = state.withLock { $0.named }
        var current: [String: NamespaceIdentity] = [:]
        current.reserveCapacity(paths.count)
        for path in paths {
            if trustRemembered, let known = remembered[path] {
                current[path] = known
            } else if let read = Self.identity(of: path) {
                current[path] = read
            }
        }
        state.withLock { $0.named = current }
        return current.filter { $0.value == identity }.map(\.key)
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

    private func processPaths() -> [String] {
        var paths: [String] = []
        if let proc = opendir("/proc") {
            defer { closedir(proc) }
            while let entry = readdir(proc) {
                let name = NetworkNamespace.directoryEntryName(entry)
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
