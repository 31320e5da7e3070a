import Glibc
public import IPAddressing
import Netlink

/// ICMP echo to one address from inside a network namespace, without blocking: ``send()`` an
/// echo request, ``replies()`` takes whatever replies arrived since (the liveness check and
/// `nsm bench heal` use it). The socket is made in
/// the namespace (on the namespace thread) and keeps it; it is used from anywhere after.
///
/// A datagram ICMP socket first (no privileges: allowed by the namespace's
/// `net.ipv4.ping_group_range`, which container runtimes open for pods); a raw one when that is
/// refused and the process may (CAP_NET_RAW). The kernel matches a datagram socket's replies to
/// it; a raw socket sees every ICMP message, so replies are matched by source, identifier and
/// sequence.
public final class EchoProbe: @unchecked Sendable {  // one owner at a time: the loop that probes
    public let target: IPAddress
    private let socket: Int32
    private let raw: Bool
    private let identifier = UInt16.random(in: 1...UInt16.max)
    private var sequence: UInt16 = 0
    private var sent: Set<UInt16> = []

    /// - Parameter namespace: the namespace file to probe from (`nil`: this process's own).
    public init(target: IPAddress, namespace: String?) throws(LivenessError) {
        self.target = target
        let family = (target.family == .v4) ? AF_INET : AF_INET6
        let proto = (target.family == .v4) ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        func open(_ type: Int32) -> (Int32, Int32) {
            let fd = Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
            return (fd, fd < 0 ? errno : 0)
        }
        func both() -> (fd: Int32, raw: Bool, errors: (Int32, Int32)) {
            let (datagram, datagramError) = open(Int32(SOCK_DGRAM.rawValue))
            if datagram >= 0 { return (datagram, false, (0, 0)) }
            let (rawSocket, rawError) = open(Int32(SOCK_RAW.rawValue))
            return (rawSocket, true, (datagramError, rawError))
        }
        let made: (fd: Int32, raw: Bool, errors: (Int32, Int32))
        if let namespace {
            do {
                let opened = try NetworkNamespace(path: namespace)
                made = try opened.perform { () throws(NetlinkError) in both() }
            } catch {
                throw LivenessError("cannot enter \(namespace) to probe \(target): \(error)")
            }
        } else {
            made = both()
        }
        guard made.fd >= 0 else {
            throw LivenessError(
                "no ICMP socket to probe \(target): datagram refused (\(String(cString: strerror(made.errors.0))); net.ipv4.ping_group_range does not include this process's group), raw refused (\(String(cString: strerror(made.errors.1))); needs CAP_NET_RAW)")
        }
        socket = made.fd
        raw = made.raw
    }

    deinit { close(socket) }

    /// Sends the next echo request; its sequence number, or nil if the kernel refused it (no
    /// route, interface gone).
    @discardableResult
    public func send() -> UInt16? {
        sequence &+= 1
        var packet: [UInt8] = [(target.family == .v4) ? 8 : 128, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += Array("nsm-liveness".utf8)
        if (target.family == .v4) {
            let sum = Self.checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xFF)
        }
        let result = withSocketAddress { address, length in packet.withUnsafeBytes { sendto(socket, $0.baseAddress, $0.count, 0, address, length) } }
        guard result == packet.count else { return nil }
        sent.insert(sequence)
        if sent.count > 64 { sent.remove(sequence &- 64) }
        return sequence
    }

    /// Whether any reply to our requests arrived since the last call (reads all that are queued).
    func receivedReply() -> Bool { !replies().isEmpty }

    /// The sequence numbers of the replies to our last 64 requests that arrived since the last
    /// call (reads all that are queued).
    public func replies() -> [UInt16] {
        var buffer = [UInt8](repeating: 0, count: 1500)
        var got: [UInt16] = []
        while true {
            var from = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, bytes.baseAddress, bytes.count, 0, $0, &length) } }
            }
            guard count > 0 else { return got }
            if let sequence = reply(buffer[..<count], from: from) { got.append(sequence) }
        }
    }

    /// The sequence number, if `bytes` are a reply to one of our requests.
    private func reply(_ bytes: ArraySlice<UInt8>, from: sockaddr_storage) -> UInt16? {
        var icmp = bytes
        if raw, (target.family == .v4) {
            // A raw IPv4 socket hands over the IP header too.
            guard let first = icmp.first else { return nil }
            icmp = icmp.dropFirst(Int(first & 0x0F) * 4)
        }
        guard icmp.count >= 8 else { return nil }
        let start = icmp.startIndex
        let replyType: UInt8 = (target.family == .v4) ? 0 : 129
        guard icmp[start] == replyType else { return nil }
        let sequence = UInt16(icmp[start + 6]) << 8 | UInt16(icmp[start + 7])
        if raw {
            let identifier = UInt16(icmp[start + 4]) << 8 | UInt16(icmp[start + 5])
            guard identifier == self.identifier, Self.address(from) == target else { return nil }
        }
        return sent.contains(sequence) ? sequence : nil
    }

    private func withSocketAddress<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if (target.family == .v4) {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            let bytes = target.bytes
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        let bytes = target.bytes
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }

    private static func address(_ storage: sockaddr_storage) -> IPAddress? {
        let family = Int32(storage.ss_family)
        var storage = storage
        return withUnsafeBytes(of: &storage) { raw -> IPAddress? in
            switch family {
            case AF_INET: return IPAddress(bytes: raw[4..<8])
            case AF_INET6: return IPAddress(bytes: raw[8..<24])
            default: return nil
            }
        }
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

public struct LivenessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
