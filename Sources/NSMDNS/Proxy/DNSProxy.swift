public import Logging
import NIOCore
import NIOPosix
import Readiness
public import ServiceLifecycle
import Synchronization

/// The pod's DNS proxy: listens on UDP and TCP (by default `127.0.0.1:53`) and fans each query
/// out in parallel to every upstream that serves the name — the cluster DNS for everything,
/// a network service's DNS only for its `search_domains` — answering with the first positive
/// answer, else the best negative one (with its SOA), else SERVFAIL when nobody answered within
/// the budget. Answers are cached by TTL; truncated UDP answers are asked again over TCP.
///
/// UDP — listeners, upstream sockets, the fan-out and its timers — runs on one thread of the
/// proxy's own (`ProxyThread`); TCP on one SwiftNIO event loop thread, which hands its queries
/// to that thread. `threadSetup` runs first on both threads — e.g. to move them into the pod's
/// network namespace, so every socket the proxy makes (listeners and upstream sockets) lives there.
public final class DNSProxy: Service, Sendable {
    public struct Configuration: Sendable {
        public var listen: [DNSListenAddress]
        public var upstreams: [DNSUpstream]
        /// Time budget of one query (upstream's 5 s).
        public var timeout: Duration
        /// How long a query that already has a negative answer waits for the other upstreams
        /// before it answers with that negative (a positive within it still wins).
        public var negativeWait: Duration
        public var cacheCapacity: Int
        public var negativeCacheCapacity: Int
        public var maximumNegativeTTL: UInt32
        public var threadSetup: (@Sendable () throws -> Void)?
        /// A client's TCP connection is closed after this long without a query.
        public var tcpIdleTimeout: Duration

        public init(listen: [DNSListenAddress] = [DNSListenAddress(host: "127.0.0.1", port: 53)], upstreams: [DNSUpstream] = [],
                    timeout: Duration = .seconds(5), cacheCapacity: Int = 10_000, negativeCacheCapacity: Int = 1_000,
                    maximumNegativeTTL: UInt32 = 60, tcpIdleTimeout: Duration = .seconds(10), negativeWait: Duration = .seconds(1),
                    threadSetup: (@Sendable () throws -> Void)? = nil) {
            self.tcpIdleTimeout = tcpIdleTimeout
            self.negativeWait = negativeWait
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
    /// Serves TCP (clients, and retries of truncated upstream answers).
    let group: MultiThreadedEventLoopGroup
    let core: ProxyCore
    private let channels = Mutex<[any Channel]>([])
    private let thread = Mutex<ProxyThread?>(nil)
    private let bound = ReadySignal<[DNSListenAddress]>()
    /// The upstreams last asked for (``setUpstreams(_:)``, else the configuration's).
    private let wanted: WantedUpstreams

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "nsm.dns")) {
        self.configuration = configuration
        self.logger = logger
        wanted = WantedUpstreams(configuration.upstreams)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        core = ProxyCore(
            tcpLoop: group.next(), timeout: configuration.timeout, negativeWait: configuration.negativeWait,
            cache: DNSCache(capacity: configuration.cacheCapacity, negativeCapacity: configuration.negativeCacheCapacity,
                            maximumNegativeTTL: configuration.maximumNegativeTTL),
            logger: logger)
    }

    // Not the sync variant: that traps when the last reference goes away on an event loop thread.
    deinit { group.shutdownGracefully { _ in } }

    /// The addresses actually bound (ports resolved when 0 was asked for).
    public var listening: [DNSListenAddress] { bound.value ?? [] }

    /// Waits until ``start()`` (or ``run()``) has bound the listeners; throws if it failed.
    public func listeningAddresses() async throws -> [DNSListenAddress] {
        try await bound.wait()
    }

    public var metrics: DNSProxyMetrics { core.metricsBox.withLock { $0 } }

    /// Replaces the upstreams (connections come and go); queries in flight keep theirs. A real
    /// change empties the cache: its answers may come from an upstream that is gone.
    public func setUpstreams(_ upstreams: [DNSUpstream]) {
        wanted.list.withLock { $0 = upstreams }
        applyWanted()
    }

    /// Hands the latest upstreams to the proxy thread, read when the thread runs it: a call
    /// before ``start()`` is not undone by the configuration's initial list.
    private func applyWanted() {
        let core = self.core, wanted = self.wanted
        core.mailbox.post { core.setUpstreams(wanted.list.withLock { $0 }) }
    }

    /// Binds the listeners and the upstream sockets; returns the bound addresses.
    @discardableResult
    public func start() async throws -> [DNSListenAddress] {
        let core = self.core, loop = core.tcpLoop, setup = configuration.threadSetup
        var opened: [any Channel] = []
        var proxyThread: ProxyThread?
        var addresses: [DNSListenAddress] = []
        // Port 0 picks a free UDP port and then binds TCP on the same number, which another
        // socket may hold: then the whole pair is picked again (a few times).
        let attempts = configuration.listen.contains { $0.port == 0 } ? 5 : 1
        for attempt in 1...attempts {
            do {
                // TCP sockets are made on the NIO loop, UDP ones on the proxy thread: both run `setup` first.
                if let setup { try await loop.submit { try setup() }.get() }
                let udp = try ProxyThread(listen: configuration.listen, upstreamSockets: Self.upstreamSockets, core: core, setup: setup)
                proxyThread = udp
                for (address, port) in zip(configuration.listen, udp.ports) {
                    let bound = DNSListenAddress(host: address.host, port: port)
                    opened.append(try await DNSListener.bindStream(bound, on: loop, handler: core, tcpIdleTimeout: Self.timeAmount(configuration.tcpIdleTimeout)).get())
                    addresses.append(bound)
                }
                break
            } catch {
                proxyThread?.stop()
                proxyThread = nil
                for channel in opened { try? await channel.close() }
                opened = []
                addresses = []
                if attempt < attempts { continue }
                let failure = DNSConfigurationError("cannot listen on \(configuration.listen.map(\.description).joined(separator: ", ")): \(error)")
                bound.fail(failure)
                throw failure
            }
        }
        let own = Set(addresses), upstreams = wanted.list.withLock { $0 }
        core.mailbox.post { core.ownAddresses = own }
        applyWanted()
        channels.withLock { $0 = opened }
        thread.withLock { $0 = proxyThread }
        bound.resolve(addresses)
        logger.info("DNS proxy listening", metadata: ["listen": "\(addresses)", "upstreams": "\(upstreams)"])
        return addresses
    }

    /// Closes every socket.
    public func stop() async {
        thread.withLock { thread in defer { thread = nil }; return thread }?.stop()
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
}

/// The proxy's wanted upstreams, shared with the work it posts to its thread.
final class WantedUpstreams: Sendable {
    let list: Mutex<[DNSUpstream]>
    init(_ list: [DNSUpstream]) { self.list = Mutex(list) }
}
