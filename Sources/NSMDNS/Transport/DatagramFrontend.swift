import Dispatch
import Glibc
import NIOCore
import Synchronization

/// The proxy's UDP listener on a thread of its own, without SwiftNIO in the way: `poll`, then
/// `recvfrom` until the socket is empty, cache hits answered on the spot, everything else handed
/// to the proxy's event loop with a reply that `sendto`s on this socket. (NIO's per-datagram
/// pipeline cost about as much as the whole cache-hit answer; see docs/benchmarks.md.)
final class DatagramFrontend: @unchecked Sendable {
    // @unchecked: `socket` and `wake` are set before the thread starts serving and only closed
    // after it stopped; the rest is owned by the thread.
    private(set) var socket: Int32 = -1
    private(set) var port = 0
    private let wake: Int32
    private let wakeWriter: Int32
    private let core: ProxyCore
    private var thread = pthread_t()

    static let batch = 16

    /// Creates the socket on a new thread (after `threadSetup`, e.g. entering a namespace),
    /// binds it, and starts serving; throws if the socket cannot be bound.
    init(_ address: DNSListenAddress, core: ProxyCore, threadSetup: (@Sendable () throws -> Void)?) throws {
        self.core = core
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw DNSConfigurationError("pipe: \(String(cString: strerror(errno)))") }
        wake = pipeEnds[0]
        wakeWriter = pipeEnds[1]
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let started = StartResult()
        let context = Unmanaged.passRetained(Box(body: { [self] in
            do {
                try threadSetup?()
                try self.open(address)
                started.finish(nil)
            } catch {
                started.finish("\(error)")
                return
            }
            self.serve()
        })).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard created == 0 else { throw DNSConfigurationError("cannot start the UDP thread: \(created)") }
        if let failure = started.wait() {
            pthread_join(thread, nil)
            close(wake)
            close(wakeWriter)
            throw DNSConfigurationError("cannot listen on UDP \(address): \(failure)")
        }
    }

    /// Stops serving, joins the thread and closes the socket.
    func stop() {
        var one: UInt8 = 1
        _ = write(wakeWriter, &one, 1)
        pthread_join(thread, nil)
        close(socket)
        close(wake)
        close(wakeWriter)
    }

    private func open(_ address: DNSListenAddress) throws {
        // sockaddr_in / sockaddr_in6 written byte by byte: family (host order), port (network
        // order), then the address at offset 4 (IPv4) or 8 (IPv6, after the flow label).
        var storage = sockaddr_storage()
        let family: Int32 = address.host.contains(":") ? AF_INET6 : AF_INET
        let length = socklen_t(family == AF_INET ? 16 : 28)
        var raw = [UInt8](repeating: 0, count: 16)
        guard inet_pton(family, address.host, &raw) == 1 else { throw DNSConfigurationError("\(address.host) is not an IP address") }
        withUnsafeMutableBytes(of: &storage) { bytes in
            bytes.storeBytes(of: sa_family_t(family), toByteOffset: 0, as: sa_family_t.self)
            bytes.storeBytes(of: UInt16(address.port).bigEndian, toByteOffset: 2, as: UInt16.self)
            let offset = family == AF_INET ? 4 : 8
            for index in 0..<(family == AF_INET ? 4 : 16) { bytes[offset + index] = raw[index] }
        }
        let fd = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw DNSConfigurationError("socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1, buffer: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else {
            let error = String(cString: strerror(errno))
            close(fd)
            throw DNSConfigurationError("bind: \(error)")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) } }
        port = withUnsafeBytes(of: &actual) { Int(UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self))) }
        socket = fd
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65535)
        var polls = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        let fd = socket, core = self.core
        while true {
            polls[0].revents = 0
            polls[1].revents = 0
            guard poll(&polls, 2, -1) >= 0 || errno == EINTR else { return }
            if polls[1].revents != 0 { return }
            // Drain the socket: one wake-up serves every datagram that arrived meanwhile; the
            // misses go to the event loop together, in one hand-off.
            var misses: [([UInt8], Bool, sockaddr_storage, socklen_t)] = []
            while true {
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = buffer.withUnsafeMutableBytes { space in
                    withUnsafeMutablePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, space.baseAddress, space.count, Int32(MSG_DONTWAIT), $0, &peerLength) }
                    }
                }
                guard count >= 0 else { break }
                let query = Array(buffer[0..<count])
                switch core.lookup(query, transport: .udp) {
                case .hit(let answer): Self.send(fd, answer, to: peer, length: peerLength)
                case .miss: misses.append((query, true, peer, peerLength))
                case .unusual: misses.append((query, false, peer, peerLength))
                }
                if misses.count >= 64 { break }
            }
            guard !misses.isEmpty else { continue }
            let batch = misses
            core.loop.execute {
                for (query, checked, peer, peerLength) in batch {
                    core.resolve(query, transport: .udp, cacheChecked: checked) { answer in Self.send(fd, answer, to: peer, length: peerLength) }
                }
            }
        }
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to peer: sockaddr_storage, length: socklen_t) {
        var peer = peer
        _ = bytes.withUnsafeBytes { data in
            withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, data.baseAddress, data.count, 0, $0, length) } }
        }
    }

    private final class Box {
        let body: () -> Void
        init(body: @escaping () -> Void) { self.body = body }
    }

    /// The thread's report of whether the socket is bound.
    private final class StartResult: Sendable {
        private let signal = DispatchSemaphore(value: 0)
        private let failure = Mutex<String?>(nil)
        func finish(_ failure: String?) {
            self.failure.withLock { $0 = failure }
            signal.signal()
        }
        func wait() -> String? {
            signal.wait()
            return failure.withLock { $0 }
        }
    }
}
