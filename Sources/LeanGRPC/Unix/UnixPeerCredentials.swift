#if canImport(Glibc)
import Glibc
#endif

/// A file as the kernel identifies it: the device and inode of its `stat`. Network namespaces
/// are named this way on NSM's wire (`inode://<device>/<inode>`).
public struct FileIdentity: Sendable, Hashable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// The identity of the file at `path` (symbolic links followed), `nil` when it cannot be read.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The identity of an open file, `nil` when `fstat` fails.
    public init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    public var description: String { "inode://\(device)/\(inode)" }
}

/// What the kernel says about the process at the other end of a unix socket, read when the
/// connection was accepted: its credentials (`SO_PEERCRED`), the network namespace its process
/// was in (`/proc/<pid>/ns/net`), and the network namespaces it passed as file descriptors
/// (`SCM_RIGHTS`) with its first bytes, as upstream's grpcfd does.
public struct UnixPeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// The peer process's network namespace; `nil` when `/proc/<pid>/ns/net` could not be read.
    public var networkNamespace: FileIdentity?
    /// Network namespaces whose descriptors the peer passed (the descriptors themselves are closed
    /// once identified: holding one proved the peer could open that namespace).
    public var passedNetworkNamespaces: [FileIdentity]

    public init(pid: Int32, uid: UInt32, gid: UInt32, networkNamespace: FileIdentity?, passedNetworkNamespaces: [FileIdentity] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.networkNamespace = networkNamespace
        self.passedNetworkNamespaces = passedNetworkNamespaces
    }

    /// The namespace the peer speaks for: the one it passed, else its own.
    public var actingNetworkNamespace: FileIdentity? { passedNetworkNamespaces.first ?? networkNamespace }

    public var description: String {
        var text = "pid \(pid) uid \(uid)"
        if let networkNamespace { text += " netns \(networkNamespace)" }
        if !passedNetworkNamespaces.isEmpty { text += " passed \(passedNetworkNamespaces.map(\.description).joined(separator: ","))" }
        return text
    }

    /// The credentials of the peer of the connected unix socket `descriptor`.
    static func of(socket descriptor: Int32) -> UnixPeerCredentials? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        let (pid, uid, gid) = credentials
        return UnixPeerCredentials(pid: pid, uid: uid, gid: gid, networkNamespace: pid > 0 ? FileIdentity(path: "/proc/\(pid)/ns/net") : nil)
    }
}

/// Who is calling, as the server transport knows it. Set for the duration of each call's handler,
/// so the service (and the chain behind it) can tell a local process from a network peer, and
/// knows the peer's TLS identity when the transport has TLS.
public struct ServerCaller: Sendable, Hashable {
    /// The process's credentials when the call came over a unix socket.
    public var unix: UnixPeerCredentials?
    /// `ipv4:10.0.0.1:5000`, or `unix:<path>` with the credentials.
    public var address: String
    /// What ``TransportSecurity/identify`` said of the peer's certificate (e.g. its SPIFFE ID).
    public var identity: String?
    /// The peer's leaf certificate (DER), with TLS: what signatures of the peer are checked with.
    public var certificate: [UInt8]?

    public init(unix: UnixPeerCredentials? = nil, address: String, identity: String? = nil, certificate: [UInt8]? = nil) {
        self.unix = unix
        self.address = address
        self.identity = identity
        self.certificate = certificate
    }

    @TaskLocal public static var current: ServerCaller?
}
