public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The pod's DNS proxy: listens on UDP and TCP (by default `127.0.0.1:53`) and fans each query
/// out in parallel to every upstream that serves the name — the cluster DNS for everything,
/// a network service's DNS only for its `search_domains` — answering with the first positive
/// answer, else the best negative one (with its SOA), else SERVFAIL when nobody answered within
/// the budget. Answers are cached by TTL; truncated UDP answers are asked again over TCP.
///
/// Everything runs on one event loop thread owned by the proxy. `threadSetup` runs on that
/// thread first — e.g. to move it into the pod's network namespace, so every socket the proxy
/// makes (listeners and upstream sockets) lives there.
public final class DNSProxy: Service, Sendable {
    public struct Configuration: Sendable {
        public var listen: [DNSListenAddress]
        public var upstreams: [DNSUpstream]
        /// Time budget of one query (upstream's 5 s).
        public var timeout: Duration
        public var cacheCapacity: Int
        public var negativeCacheCapacity: Int
        public var maximumNegativeTTL: UInt32
        public var threadSetup: (@Sendable () throws -> Void)?
        /// A client's TCP connection is closed after this long without a query.
        public var tcpIdleTimeout: Duration

        public init(listen: [DNSListenAddress] = [DNSListenAddress(host: "127.0.0.1", port: 53)], upstreams: [DNSUpstream] = [],
                    timeout: Duration = .seconds(5), cacheCapacity: Int = 10_000, negativeCacheCapacity: Int = 1_000,
                    maximumNegativeTTL: UInt32 = 60, tcpIdleTimeout: Duration = .seconds(10), threadSetup: (@Sendable () throws -> Void)? = nil) {
            self.tcpIdleTimeout = tcpIdleTimeout
            self.listen = listen
            self.upstreams = upstreams
            self.timeout = timeout
            self.cacheCapacity = cacheCapacity
            self.negativeCacheCapacity = negativeCacheCapacity
            self.maximumNegativeTTL = maximumNegativeTTL
            self.threadSetup = threadSetup
        }
    }

    public let configuration: Configuration
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let core: ProxyCore
    private let channels = Mutex<[any Channel]>([])
    private let frontends = Mutex<[DatagramFrontend]>([])
    private let bound = Mutex<[DNSListenAddress]>([])
    private let startFailure = Mutex<DNSConfigurationError?>(nil)

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "nsm.dns")) {
        self.configuration = configuration
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        core = ProxyCore(
            loop: group.next(), timeout: Self.timeAmount(configuration.timeout),
            cache: DNSCache(capacity: configuration.cacheCapacity, negativeCapacity: configuration.negativeCacheCapacity,
                            maximumNegativeTTL: configuration.maximumNegativeTTL),
            logger: logger)
    }

    deinit { try? group.syncShutdownGracefully() }

    /// The addresses actually bound (ports resolved when 0 was asked for).
    public var listening: [DNSListenAddress] { bound.withLock { $0 } }

    /// Waits until ``start()`` (or ``run()``) has bound the listeners; throws if it failed.
    public func listeningAddresses() async throws -> [DNSListenAddress] {
        while true {
            if let failure = startFailure.withLock({ $0 }) { throw failure }
            let addresses = listening
            if !addresses.isEmpty { return addresses }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    public var metrics: DNSProxyMetrics { core.metricsBox.withLock { $0 } }

    /// Replaces the upstreams (connections come and go); queries in flight keep theirs. A real
    /// change empties the cache: its answers may come from an upstream that is gone.
    public func setUpstreams(_ upstreams: [DNSUpstream]) {
        let core = self.core
        core.loop.execute {
            guard core.upstreams != upstreams else { return }
            core.upstreams = upstreams
            core.cache.withLock { $0.removeAll() }
        }
    }

    /// Binds the listeners and the upstream sockets; returns the bound addresses.
    @discardableResult
    public func start() async throws -> [DNSListenAddress] {
        let core = self.core, loop = core.loop, setup = configuration.threadSetup
        if let setup { try await loop.submit { try setup() }.get() }
        func answers(_ socket: Int) -> @Sendable (AddressedEnvelope<ByteBuffer>) -> Void {
            { envelope in
                let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes) ?? []
                core.upstreamAnswer(bytes, from: envelope.remoteAddress, socket: socket)
            }
        }
        var v4: [any Channel] = [], v6: [any Channel] = []
        for socket in 0..<Self.upstreamSockets {
            v4.append(try await Self.upstreamChannel(host: "0.0.0.0", loop: loop, onAnswer: answers(socket)))
            // IPv6 may be off in the namespace: then only IPv4 upstreams work.
            if let channel = try? await Self.upstreamChannel(host: "::", loop: loop, onAnswer: answers(socket)) { v6.append(channel) }
        }
        var opened: [any Channel] = v4 + v6
        var addresses: [DNSListenAddress] = []
        var udp: [DatagramFrontend] = []
        do {
            for address in configuration.listen {
                let frontend = try DatagramFrontend(address, core: core, threadSetup: setup)
                udp.append(frontend)
                let bound = DNSListenAddress(host: address.host, port: frontend.port)
                opened.append(try await DNSListener.bindStream(bound, on: loop, handler: core, tcpIdleTimeout: Self.timeAmount(configuration.tcpIdleTimeout)).get())
                addresses.append(bound)
            }
        } catch {
            for frontend in udp { frontend.stop() }
            for channel in opened { try? await channel.close() }
            startFailure.withLock { $0 = DNSConfigurationError("cannot listen on \(configuration.listen.map(\.description).joined(separator: ", ")): \(error)") }
            throw DNSConfigurationError("cannot listen on \(configuration.listen.map(\.description).joined(separator: ", ")): \(error)")
        }
        let upstreams = configuration.upstreams, own = Set(addresses)
        try await loop.submit {
            core.upstreamChannelsV4 = v4
            core.upstreamChannelsV6 = v6
            core.ownAddresses = own
            core.upstreams = upstreams
        }.get()
        channels.withLock { $0 = opened }
        frontends.withLock { $0 = udp }
        bound.withLock { $0 = addresses }
        logger.info("DNS proxy listening", metadata: ["listen": "\(addresses)", "upstreams": "\(upstreams)"])
        return addresses
    }

    /// Closes every socket.
    public func stop() async {
        for frontend in frontends.withLock({ list in defer { list = [] }; return list }) { frontend.stop() }
        for channel in channels.withLock({ list in defer { list = [] }; return list }) { try? await channel.close() }
    }

    /// Service: start, serve until graceful shutdown, stop.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        await stop()
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Upstream sockets per address family (each a random source port).
    static let upstreamSockets = 8

    static func upstreamChannel(host: String, loop: any EventLoop, onAnswer: @escaping @Sendable (AddressedEnvelope<ByteBuffer>) -> Void) async throws -> any Channel {
        try await loop.flatSubmit {
            DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65535))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UpstreamAnswerHandler(onAnswer: onAnswer)) }
                }
                .bind(host: host, port: 0)
        }.get()
    }
}

/// Passes datagrams from upstreams to the proxy core.
final class UpstreamAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let onAnswer: @Sendable (AddressedEnvelope<ByteBuffer>) -> Void
    init(onAnswer: @escaping @Sendable (AddressedEnvelope<ByteBuffer>) -> Void) { self.onAnswer = onAnswer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { onAnswer(unwrapInboundIn(data)) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}
