import CNetlink
import Glibc

/// An open network namespace (a file descriptor to its nsfs file).
///
/// Create one like `ip netns add` (``create(named:)``), open one by name, path or pid, and run
/// code inside it with ``perform(_:)``, which switches a dedicated OS thread into the
/// namespace and back. Sockets created inside keep the namespace when used elsewhere.
public final class NetworkNamespace: Sendable, CustomStringConvertible {
    /// Where `ip netns` keeps named namespaces.
    public static let runDirectory = "/run/netns"

    /// The open descriptor of the namespace file.
    public let descriptor: Int32
    /// Where it was opened from (for messages).
    public let path: String
    /// Device and inode of the namespace file: its identity, as in `inode://<dev>/<ino>`.
    public let identity: NamespaceIdentity

    /// Opens the namespace file at `path` (`/run/netns/NAME`, `/proc/PID/ns/net`, …).
    public init(path: String) throws(NetlinkError) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError.fromErrno("open network namespace \(path)") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = NetlinkError.fromErrno("stat network namespace \(path)")
            close(fd)
            throw error
        }
        self.descriptor = fd
        self.path = path
        self.identity = NamespaceIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    deinit { close(descriptor) }

    /// Opens the named namespace `/run/netns/<name>`.
    public static func open(named name: String) throws(NetlinkError) -> NetworkNamespace {
        try NetworkNamespace(path: "\(runDirectory)/\(name)")
    }

    /// Opens the network namespace of process `pid`.
    public static func open(pid: Int32) throws(NetlinkError) -> NetworkNamespace {
        try NetworkNamespace(path: "/proc/\(pid)/ns/net")
    }

    /// Opens the calling thread's current network namespace.
    public static func current() throws(NetlinkError) -> NetworkNamespace {
        try NetworkNamespace(path: "/proc/thread-self/ns/net")
    }

    public var description: String { "netns \(path) (\(identity))" }

    // MARK: Running code inside

    /// Runs `body` on an OS thread switched into this namespace, then returns its result.
    ///
    /// For short work (create a socket, write a sysctl): it runs on a shared long-lived thread,
    /// one job at a time. Blocks the caller until done; never `await` in `body`.
    public func perform<T>(_ body: () throws(NetlinkError) -> T) throws(NetlinkError) -> T {
        try NamespaceHopper.shared.run { () throws(NetlinkError) -> Result<T, NetlinkError> in try enter(body) }.get()
    }

    /// The same as ``perform(_:)``, suspending instead of blocking: the calling thread (e.g. an
    /// event loop that also has sockets to serve) stays free while the namespace thread works.
    public func performSuspending<T: Sendable>(_ body: @escaping @Sendable () throws(NetlinkError) -> T) async throws(NetlinkError) -> T {
        let outcome: Result<T, NetlinkError> = await withCheckedContinuation { continuation in
            NamespaceHopper.shared.submit {
                let result: Result<T, NetlinkError>
                do throws(NetlinkError) { result = try self.enter(body) } catch { result = .failure(error) }
                continuation.resume(returning: result)
            }
        }
        return try outcome.get()
    }

    /// Runs `body` on a fresh OS thread switched into this namespace, for work that may take
    /// long (e.g. spawning a process that should start inside the namespace and waiting for it).
    public func run<T>(_ body: () throws -> T) throws -> T {
        try DedicatedThread.run { () throws(NetlinkError) -> Result<T, any Error> in try enter(body) }.get()
    }

    /// Moves the calling OS thread into this namespace for the rest of its life. Only for a
    /// thread that exists for this purpose (e.g. the event loop thread of a DNS proxy serving a
    /// pod): never for a Swift concurrency thread, which other tasks share.
    public func moveCurrentThread() throws(NetlinkError) {
        guard cnetlink_setns(descriptor, CNETLINK_CLONE_NEWNET) == 0 else { throw NetlinkError.fromErrno("setns into \(path)") }
    }

    /// Switches the calling OS thread into this namespace, runs `body`, and switches back.
    /// Must only be called on a thread that nothing else shares (hopper or dedicated thread).
    private func enter<T, E: Error>(_ body: () throws(E) -> T) throws(NetlinkError) -> Result<T, E> {
        try { () throws(NetlinkError) -> Result<T, E> in
            let original = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            guard original >= 0 else { throw NetlinkError.fromErrno("open /proc/thread-self/ns/net") }
            defer { close(original) }
            guard cnetlink_setns(descriptor, CNETLINK_CLONE_NEWNET) == 0 else {
                throw NetlinkError.fromErrno("setns into \(path)")
            }
            let result: Result<T, E>
            do throws(E) { result = .success(try body()) } catch { result = .failure(error) }
            // Restore before anything else can run on this thread.
            guard cnetlink_setns(original, CNETLINK_CLONE_NEWNET) == 0 else {
                fatalError("could not return from \(path) to the original network namespace")
            }
            return result
        }()
    }
}

/// Device and inode numbers of a namespace file: what makes two paths the same namespace.
public struct NamespaceIdentity: Sendable, Hashable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// `inode://<dev>/<ino>`, upstream NSM's wire form.
    public var url: String { "inode://\(device)/\(inode)" }

    /// Parses `inode://<dev>/<ino>`.
    public init?(url: String) {
        guard url.hasPrefix("inode://") else { return nil }
        let parts = url.dropFirst(8).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    public var description: String { url }
}
