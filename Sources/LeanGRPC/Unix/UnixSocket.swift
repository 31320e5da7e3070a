#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking, close-on-exec unix stream socket with `path` bound to it (`bind`) or connected
/// to (`connect`); closed again when that fails. Non-blocking connect: a server whose backlog is
/// full makes it fail (EAGAIN) rather than wait.
func unixSocket(_ path: String, _ operation: String, _ attach: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) throws(SocketFailure) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard path.utf8.count < capacity else {
        throw SocketFailure(operation: "\(operation) \(path) (longer than \(capacity - 1) bytes)", errno: ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard socket >= 0 else { throw SocketFailure(operation: "socket", errno: errno) }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { attach(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard result == 0 else {
        let failure = SocketFailure(operation: "\(operation) \(path)", errno: errno)
        close(socket)
        throw failure
    }
    return socket
}

/// Whether something accepts connections at the unix socket `path`: `nil` if so, otherwise why
/// not. `connect()` to a path whose process died fails at once (ECONNREFUSED, or ENOENT once the
/// file is gone), where a gRPC call would wait for its deadline; a listener with a full backlog
/// (EAGAIN) counts as alive.
public func unixSocketProblem(at path: String) -> String? {
    do {
        close(try unixSocket(path, "connect") { connect($0, $1, $2) })
        return nil
    } catch {
        guard error.errno == ECONNREFUSED || error.errno == ENOENT else { return nil }
        return String(cString: strerror(error.errno))
    }
}

/// Connects a unix stream socket to `path` (the caller hands it to SwiftNIO, which then owns it).
func connectUnixSocket(to path: String) throws(SocketFailure) -> Int32 {
    try unixSocket(path, "connect") { connect($0, $1, $2) }
}
