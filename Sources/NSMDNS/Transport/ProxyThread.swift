import CEventPoll
import Dispatch
import Glibc
import Synchronization

/// The proxy's own thread, without SwiftNIO in the way: one `epoll` over the UDP listeners, the
/// upstream sockets and a wake-up pipe, with the next retransmit tick as its timeout. Queries
/// are read with `recvfrom` until a socket is empty; cache hits are answered on the spot, misses
/// fanned out from here, and upstream answers read here — a cache miss never leaves the
/// thread. (NIO's per-datagram pipeline cost about as much as a whole cache-hit answer; see
/// docs/benchmarks.md.) TCP stays on the proxy's NIO loop, which posts its work here.
final class ProxyThread: @unchecked Sendable {
    // @unchecked: the descriptors are set before the thread starts serving and closed only
    // after it stopped; the rest is owned by the thread.
    private(set) var listeners: [Int32] = []
    private(set) var ports: [Int] = []
    private var upstreamV4: [Int32] = []
    private var upstreamV6: [Int32] = []
    /// Every descriptor above, plus the mailbox's wake-up pipe, registered with its position:
    /// wake-up pipe, listeners, IPv4 upstreams, IPv6 upstreams.
    private var epoll: Int32 = -1
    private let core: ProxyCore
    private let stopping = Atomic<Bool>(false)
    private var thread = pthread_t()

    /// Datagrams read from one socket before the others get their turn.
    static let burst = 64

    /// On a new thread: runs `setup` (e.g. entering the pod's namespace), binds the listeners and
    /// `upstreamSockets` upstream sockets per address family, then serves. Throws if a listener
    /// cannot be bound.
    init(listen: [DNSListenAddress], upstreamSockets: Int, core: ProxyCore, setup: (@Sendable () throws -> Void)?) throws {
        self.core = core
        let started = StartResult()
        let context = Unmanaged.passRetained(Box(body: { [self] in
            do {
                try setup?()
                try self.open(listen, upstreamSockets: upstreamSockets)
                started.finish(nil)
            } catch {
                self.closeSockets()
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
        guard created == 0 else { throw DNSConfigurationError("cannot start the proxy thread: error \(created)") }
        if let failure = started.wait() {
            pthread_join(thread, nil)
            throw DNSConfigurationError(failure)
        }
    }

    /// Stops serving, joins the thread and closes the sockets.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        core.mailbox.post {}
        pthread_join(thread, nil)
        closeSockets()
    }

    private func open(_ listen: [DNSListenAddress], upstreamSockets: Int) throws {
        for address in listen {
            let fd = try UDPSocket.bind(host: address.host, port: address.port)
            listeners.append(fd)
            ports.append(UDPSocket.localPort(fd))
        }
        for _ in 0..<upstreamSockets {
            upstreamV4.append(try UDPSocket.bind(host: "0.0.0.0", port: 0))
            // IPv6 may be off in the namespace: then only IPv4 upstreams work.
            if let fd = try? UDPSocket.bind(host: "::", port: 0) { upstreamV6.append(fd) }
        }
        core.upstreamV4 = upstreamV4
        core.upstreamV6 = upstreamV6
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw DNSConfigurationError("epoll_create1: \(String(cString: strerror(errno)))") }
        for (index, fd) in watched.enumerated() {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = UInt64(index)
            guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { throw DNSConfigurationError("epoll_ctl: \(String(cString: strerror(errno)))") }
        }
    }

    private var watched: [Int32] { [core.mailbox.wakeReader] + listeners + upstreamV4 + upstreamV6 }

    private func closeSockets() {
        if epoll >= 0 { close(epoll) }
        epoll = -1
        for fd in listeners + upstreamV4 + upstreamV6 { close(fd) }
        listeners = []
        upstreamV4 = []
        upstreamV6 = []
    }

    private func serve() {
        let core = self.core, epoll = self.epoll, fds = watched
        let firstUpstream = 1 + listeners.count, firstV6 = firstUpstream + upstreamV4.count
        var events = [epoll_event](repeating: epoll_event(), count: 32)
        var buffer = [UInt8](repeating: 0, count: 65535)
        var peer = SocketPeer()
        while !stopping.load(ordering: .acquiring) {
            var timeout: Int32 = -1
            if let next = core.nextTick {
                let now = ProxyCore.now()
                timeout = next <= now ? 0 : Int32(min(60_000, (next - now + 999_999) / 1_000_000))
            }
            let ready = epoll_wait(epoll, &events, Int32(events.count), timeout)
            guard ready >= 0 || errno == EINTR else { return }
            for slot in 0..<max(0, Int(ready)) {
                let index = Int(events[slot].data.u64)
                if index == 0 {
                    for work in core.mailbox.drain() { work() }
                    continue
                }
                let fd = fds[index]
                // Level-triggered: what is left after a burst is reported again at once.
                for _ in 0..<Self.burst {
                    guard let count = UDPSocket.receive(fd, into: &buffer, from: &peer) else { break }
                    let bytes = Array(buffer[0..<count])
                    if index < firstUpstream {
                        let asker = peer
                        switch core.lookup(bytes, transport: .udp) {
                        case .hit(let answer): UDPSocket.send(fd, answer, to: asker)
                        case .miss(let view): core.resolve(bytes, view: view, transport: .udp) { UDPSocket.send(fd, $0, to: asker) }
                        case .unusual: core.resolve(bytes, transport: .udp) { UDPSocket.send(fd, $0, to: asker) }
                        }
                    } else if index < firstV6 {
                        core.upstreamAnswer(bytes, from: peer, v4: true, socket: index - firstUpstream)
                    } else {
                        core.upstreamAnswer(bytes, from: peer, v4: false, socket: index - firstV6)
                    }
                }
            }
            core.fireTicks()
        }
    }

    private final class Box {
        let body: () -> Void
        init(body: @escaping () -> Void) { self.body = body }
    }

    /// The thread's report of whether the sockets are bound.
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

/// Work for the proxy thread from other threads (TCP queries and answers, new upstreams): a
/// queue, and a pipe that wakes the thread's `poll` when the queue stops being empty.
final class ProxyMailbox: Sendable {
    private let queue = Mutex<[@Sendable () -> Void]>([])
    let wakeReader: Int32
    private let wakeWriter: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe: \(String(cString: strerror(errno)))")
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        wakeReader = ends[0]
        wakeWriter = ends[1]
    }

    deinit {
        close(wakeReader)
        close(wakeWriter)
    }

    func post(_ work: @escaping @Sendable () -> Void) {
        let first = queue.withLock { queue in
            queue.append(work)
            return queue.count == 1
        }
        if first {
            var one: UInt8 = 1
            _ = write(wakeWriter, &one, 1)
        }
    }

    /// On the proxy thread: everything posted so far.
    func drain() -> [@Sendable () -> Void] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeReader, &sink, sink.count) > 0 {}
        return queue.withLock { queue in
            defer { queue = [] }
            return queue
        }
    }
}
