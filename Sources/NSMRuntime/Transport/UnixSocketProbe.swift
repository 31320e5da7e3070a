import Glibc

/// Tells at once whether a unix socket path has a listener: `connect()` to a path whose
/// process died fails immediately (ECONNREFUSED, or ENOENT once the file is gone), where a
/// gRPC call would wait for its deadline while the transport backs off and retries.
enum UnixSocketProbe {
    /// `nil` when something accepts connections at `path`, otherwise why not.
    static func problem(at path: String) -> String? {
        // Non-blocking: a listener with a full backlog must not stall the caller (EAGAIN = alive).
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result == 0 { return nil }
        let code = errno
        guard code == ECONNREFUSED || code == ENOENT else { return nil }
        return String(cString: strerror(code))
    }
}
