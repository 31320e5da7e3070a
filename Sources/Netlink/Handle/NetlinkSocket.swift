import CNetlink
import Glibc
import NetlinkWire

/// A `NETLINK_ROUTE` socket. It stays bound to the network namespace of the thread that
/// created it; see ``NetworkNamespace/perform(_:)``.
///
/// Not thread-safe on its own: ``NetlinkHandle`` serialises access. It is `@unchecked
/// Sendable` only so it can be created on a namespace thread and handed to its handle; the
/// descriptor and buffer are touched only under the handle's lock after that.
final class NetlinkSocket: @unchecked Sendable {
    let descriptor: Int32
    let portID: UInt32
    private var buffer: [UInt8]

    init(receiveTimeoutMilliseconds: Int = 5_000) throws(NetlinkError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        guard fd >= 0 else { throw NetlinkError.fromErrno("socket(AF_NETLINK, NETLINK_ROUTE)") }
        var on: Int32 = 1
        // Extended acks carry the kernel's error text; capped acks skip echoing our request.
        _ = setsockopt(fd, 270 /* SOL_NETLINK */, 11 /* NETLINK_EXT_ACK */, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, 270, 10 /* NETLINK_CAP_ACK */, &on, socklen_t(MemoryLayout<Int32>.size))
        var size: Int32 = 1 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: receiveTimeoutMilliseconds / 1000, tv_usec: (receiveTimeoutMilliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard bound == 0 else {
            let error = NetlinkError.fromErrno("bind(netlink)")
            close(fd)
            throw error
        }
        var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        portID = address.nl_pid
        // Not zero-filled: only the pages a reply touches become resident (a node holds a
        // handle per endpoint namespace; 64 KiB each adds up).
        buffer = [UInt8](unsafeUninitializedCapacity: 1 << 16) { _, count in count = 1 << 16 }
    }

    deinit { close(descriptor) }

    /// Sends one datagram holding one or more messages.
    func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &kernel) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                }
            }
        }
        guard sent == bytes.count else { throw NetlinkError.fromErrno("\(operation): send") }
    }

    /// Receives one datagram and splits it into messages.
    func receive(operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw NetlinkError(code: .timedOut, errno: ETIMEDOUT, operation: operation, message: "no reply from the kernel")
                }
                throw NetlinkError.fromErrno("\(operation): recv")
            }
            do {
                return try NetlinkMessage.decodeAll(buffer[0..<count])
            } catch {
                throw NetlinkError(code: .malformedReply, errno: 0, operation: operation, message: error.description)
            }
        }
    }
}
