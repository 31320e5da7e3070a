import Glibc
import IPAddressing

/// A socket address as the kernel reads and writes it (`sockaddr_in` / `sockaddr_in6` bytes),
/// so datagrams are sent and matched without formatting addresses as text.
struct SocketPeer: @unchecked Sendable {
    // @unchecked: a plain C struct copied by value.
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    init() {}

    /// `address`:`port`, written byte by byte: family (host order), port (network order), then
    /// the address at offset 4 (IPv4) or 8 (IPv6, after the flow label).
    init(address: IPAddress, port: UInt16) {
        let v4 = address.family == .v4
        let raw = address.bytes
        withUnsafeMutableBytes(of: &storage) { bytes in
            bytes.storeBytes(of: sa_family_t(v4 ? AF_INET : AF_INET6), toByteOffset: 0, as: sa_family_t.self)
            bytes.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
            for index in raw.indices { bytes[(v4 ? 4 : 8) + index] = raw[index] }
        }
        length = socklen_t(v4 ? 16 : 28)
    }

    var isIPv4: Bool { withUnsafeBytes(of: storage) { Int32($0.load(as: sa_family_t.self)) == AF_INET } }

    var port: UInt16 { withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) } }

    /// Same family, port and address (scope ids and flow labels aside).
    func sameEndpoint(as other: SocketPeer) -> Bool {
        withUnsafeBytes(of: storage) { lhs in
            withUnsafeBytes(of: other.storage) { rhs in
                let family = lhs.load(as: sa_family_t.self)
                guard family == rhs.load(as: sa_family_t.self), lhs[2] == rhs[2], lhs[3] == rhs[3] else { return false }
                let (start, end) = Int32(family) == AF_INET ? (4, 8) : (8, 24)
                for index in start..<end where lhs[index] != rhs[index] { return false }
                return true
            }
        }
    }
}

/// Non-blocking UDP sockets for the proxy thread.
enum UDPSocket {
    /// A bound non-blocking UDP socket; throws with the reason when it cannot be made.
    static func bind(host: String, port: Int) throws -> Int32 {
        guard let address = IPAddress(host), let port = UInt16(exactly: port) else {
            throw DNSConfigurationError("\(host):\(port) is not an IP address and port")
        }
        var peer = SocketPeer(address: address, port: port)
        let fd = socket(address.family == .v4 ? AF_INET : AF_INET6,
                        Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw DNSConfigurationError("socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1, buffer: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &peer.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, peer.length) } }
        guard bound == 0 else {
            let error = String(cString: strerror(errno))
            close(fd)
            throw DNSConfigurationError("bind \(host):\(port): \(error)")
        }
        return fd
    }

    /// The port `fd` is bound to.
    static func localPort(_ fd: Int32) -> Int {
        var local = SocketPeer()
        _ = withUnsafeMutablePointer(to: &local.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &local.length) } }
        return Int(local.port)
    }

    /// One datagram into `buffer`, or nil when none is waiting.
    static func receive(_ fd: Int32, into buffer: inout [UInt8], from peer: inout SocketPeer) -> Int? {
        peer.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { space in
            withUnsafeMutablePointer(to: &peer.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, space.baseAddress, space.count, Int32(MSG_DONTWAIT), $0, &peer.length) }
            }
        }
        return count >= 0 ? count : nil
    }

    /// Sends one datagram; a failure (e.g. the asker left) is not the proxy's problem.
    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8], to peer: SocketPeer) -> Bool {
        var peer = peer
        let sent = bytes.withUnsafeBytes { data in
            withUnsafePointer(to: &peer.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, data.baseAddress, data.count, 0, $0, peer.length) } }
        }
        return sent >= 0
    }
}
