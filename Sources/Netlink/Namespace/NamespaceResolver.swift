import Glibc
import Synchronization

/// Finds a path for a namespace known only by its identity (`inode://<dev>/<ino>`), among
/// `/run/netns/*` and `/proc/*/ns/net`. Hits are cached and re-checked on use.
///
/// What `/run/netns` holds is read once and then followed with `inotify` (``DirectoryWatch``):
/// finding a namespace that appeared since costs a `stat` of the new entry, not a read of the
/// whole directory (a node with a thousand pods would otherwise read a thousand entries per
/// request). An entry made but not yet bind-mounted (`ip netns add` does both, in that order)
/// is looked at again on the next miss. Without inotify the directory is read on every miss,
/// trusting what was stat'ed before and re-reading everything when that finds nothing.
public final class NamespaceResolver: Sendable {
    private struct State {
        var hits: [NamespaceIdentity: String] = [:]
        /// Every `/run/netns` entry and the identity of the file behind it.
        var named: [String: NamespaceIdentity] = [:]
        /// Namespace identity → an entry that holds it.
        var byIdentity: [NamespaceIdentity: String] = [:]
        /// Entries whose file is not (yet) a namespace.
        var unmounted: Set<String> = []
        /// Set up just before the directory was last read in full: `named` is that read plus
        /// the changes it reported since.
        var watch: DirectoryWatch?
    }

    private let state = Mutex(State())

    public init() {}

    /// Opens the namespace with `identity`, or throws `.notFound`.
    public func open(_ identity: NamespaceIdentity) throws(NetlinkError) -> NetworkNamespace {
        if let path = state.withLock({ $0.hits[identity] }), let namespace = Self.open(path, expecting: identity) {
            return namespace
        }
        // Named namespaces first; the /proc scan only when none of them is it; last, the
        // directory read again without trusting anything remembered (a name reused unseen).
        let sources: [() -> [String]] = [
            { self.namedCandidates(for: identity, reread: false) },
            { self.processPaths() },
            { self.namedCandidates(for: identity, reread: true) },
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
            state.hits.removeValue(forKey: identity)
            if let name = state.byIdentity.removeValue(forKey: identity) { state.named.removeValue(forKey: name) }
        }
    }

    private static func open(_ path: String, expecting identity: NamespaceIdentity) -> NetworkNamespace? {
        guard let namespace = try? NetworkNamespace(path: path), namespace.identity == identity else { return nil }
        return namespace
    }

    /// The `/run/netns` path holding `identity`, if any, after bringing what is known of the
    /// directory up to date (`reread`: read it all again and stat every entry).
    private func namedCandidates(for identity: NamespaceIdentity, reread: Bool) -> [String] {
        state.withLock { state in
            if reread {
                Self.readDirectory(&state, trustRemembered: false)
            } else {
                Self.update(&state)
            }
            return state.byIdentity[identity].map { ["\(NetworkNamespace.runDirectory)/\($0)"] } ?? []
        }
    }

    private static func update(_ state: inout State) {
        if let watch = state.watch {
            let changes = watch.changes()
            if !changes.lost {
                for (name, added) in changes.events {
                    if added { note(name, in: &state) } else { forgetEntry(name, in: &state) }
                }
                for name in state.unmounted { note(name, in: &state) }
                return
            }
        }
        // First look, or events lost: watch anew, then read (the watch comes first so that
        // nothing made during the read goes unseen).
        state.watch = DirectoryWatch(directory: NetworkNamespace.runDirectory)
        readDirectory(&state, trustRemembered: true)
    }

    private static func readDirectory(_ state: inout State, trustRemembered: Bool) {
        let remembered = state.named
        state.named = [:]
        state.byIdentity = [:]
        state.unmounted = []
        for name in NetworkNamespace.unsortedNames() {
            if trustRemembered, let known = remembered[name], isNamespace(known) {
                state.named[name] = known
                state.byIdentity[known] = name
            } else {
                note(name, in: &state)
            }
        }
    }

    /// Stats `/run/netns/<name>` and files what it holds.
    private static func note(_ name: String, in state: inout State) {
        forgetEntry(name, in: &state)
        guard let read = identity(of: "\(NetworkNamespace.runDirectory)/\(name)") else { return }
        state.named[name] = read
        if isNamespace(read) {
            state.byIdentity[read] = name
        } else {
            state.unmounted.insert(name)
        }
    }

    private static func forgetEntry(_ name: String, in state: inout State) {
        state.unmounted.remove(name)
        guard let old = state.named.removeValue(forKey: name) else { return }
        if state.byIdentity[old] == name { state.byIdentity.removeValue(forKey: old) }
    }

    /// Namespace files live on nsfs, one device for all of them.
    private static func isNamespace(_ identity: NamespaceIdentity) -> Bool {
        identity.device == nsfsDevice
    }

    private static let nsfsDevice: UInt64? = identity(of: "/proc/self/ns/net")?.device

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
