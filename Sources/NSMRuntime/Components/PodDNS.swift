import IPAddressing
public import Logging
public import NSMAPI
public import NSMDNS
public import ServiceLifecycle
public import Readiness
import Synchronization

/// The pod's DNS: the fan-out proxy on `127.0.0.1:53` plus the pod's resolv.conf pointing at it.
///
/// At start the original resolv.conf's name servers become the cluster DNS (asked for every
/// name) and the file is rewritten (``PodResolvConf``); each change of the client's connections
/// turns their DNS configs into upstreams — scoped to `search_domains` when given — and adds
/// those domains to the search list. On graceful shutdown the original file is put back.
public final class PodDNS: Service, Sendable {
    public struct Configuration: Sendable {
        public var listen: DNSListenAddress
        /// The pod's resolv.conf (`/etc/resolv.conf` in a pod); nil to leave it alone and use `clusterDNS`.
        public var resolvConfPath: String?
        /// Cluster DNS servers in addition to those of the original resolv.conf.
        public var clusterDNS: [DNSUpstream]
        public var timeout: Duration
        /// Runs first on the proxy's thread: e.g. enter the pod's network namespace.
        public var threadSetup: (@Sendable () throws -> Void)?

        public init(listen: DNSListenAddress = DNSListenAddress(host: "127.0.0.1", port: 53), resolvConfPath: String? = "/etc/resolv.conf",
                    clusterDNS: [DNSUpstream] = [], timeout: Duration = .seconds(5), threadSetup: (@Sendable () throws -> Void)? = nil) {
            self.listen = listen
            self.resolvConfPath = resolvConfPath
            self.clusterDNS = clusterDNS
            self.timeout = timeout
            self.threadSetup = threadSetup
        }
    }

    public let configuration: Configuration
    public let proxy: DNSProxy
    let resolvConf: PodResolvConf?
    let clusterUpstreams: [DNSUpstream]
    let logger: Logger
    private struct State {
        var services: [DNSUpstream] = []
        var installed = false
        var writtenSearch: [String]?
        var connections = 0
        var failure: String?
        /// Waiting for an update with at least this many connections.
        var coverage: [(count: Int, signal: ReadySignal<Void>)] = []
    }
    private let state = Mutex(State())
    /// Resolved once the proxy listens and the resolv.conf points at it; failed if it cannot start.
    public let ready = ReadySignal<Void>()

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "nsm.dns")) throws {
        self.configuration = configuration
        self.logger = logger
        resolvConf = try configuration.resolvConfPath.map { try PodResolvConf(path: $0) }
        let listen = configuration.listen
        let fromFile = (resolvConf?.original.nameservers ?? []).compactMap { try? DNSUpstream(parsing: $0) }
            .filter { !($0.address.description == listen.host && Int($0.port) == listen.port) }
        clusterUpstreams = configuration.clusterDNS + fromFile
        proxy = DNSProxy(.init(listen: [listen], upstreams: clusterUpstreams, timeout: configuration.timeout, threadSetup: configuration.threadSetup), logger: logger)
    }

    /// Listening, and the resolv.conf points at the proxy.
    public var isReady: Bool { ready.value != nil }

    /// Why the proxy could not start, if it could not.
    public var failure: String? { state.withLock { $0.failure } }

    /// How many connections the last ``update(_:)`` saw (after its upstreams and resolv.conf were applied).
    public var connectionCount: Int { state.withLock { $0.connections } }

    /// The upstreams for a set of connections: cluster DNS first, then each DNS config.
    public static func upstreams(for connections: [Connection_Connection]) -> [DNSUpstream] {
        var result: [DNSUpstream] = []
        for config in connections.flatMap(\.context.dnsContext.configs) {
            let domains = config.searchDomains.compactMap { try? DNSName($0) }
            for server in config.dnsServerIps {
                guard var upstream = try? DNSUpstream(parsing: server) else { continue }
                upstream.domains = domains
                if !result.contains(upstream) { result.append(upstream) }
            }
        }
        return result
    }

    /// Follows the client's connections (``NSMClient/Configuration/onConnectionsChange``).
    public func update(_ connections: [Connection_Connection]) {
        let services = Self.upstreams(for: connections)
        proxy.setUpstreams(clusterUpstreams + services)
        let rewrite = state.withLock { state -> Bool in
            state.services = services
            return state.installed
        }
        if rewrite { writeResolvConf() }
        let covered = state.withLock { state -> [ReadySignal<Void>] in
            state.connections = connections.count
            defer { state.coverage.removeAll { $0.count <= connections.count } }
            return state.coverage.filter { $0.count <= connections.count }.map(\.signal)
        }
        for signal in covered { signal.resolve() }
    }

    /// Waits until an update has applied at least `count` connections (their DNS servers and domains).
    public func covering(_ count: Int) async throws {
        let signal = state.withLock { state -> ReadySignal<Void>? in
            guard state.connections < count else { return nil }
            let signal = ReadySignal<Void>()
            state.coverage.append((count, signal))
            return signal
        }
        try await signal?.wait()
    }

    private func writeResolvConf() {
        guard let resolvConf else { return }
        let search = state.withLock { $0.services.flatMap(\.domains).map { String($0.description.dropLast()) } }
        guard state.withLock({ state in defer { state.writtenSearch = search }; return state.writtenSearch != search }) else { return }
        do { try resolvConf.install(nameserver: configuration.listen.host, extraSearch: search) } catch {
            logger.error("cannot write the pod's resolv.conf", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        do { try await proxy.start() } catch {
            state.withLock { $0.failure = "\(error)" }
            ready.fail(error)
            throw error
        }
        state.withLock { $0.installed = true }
        writeResolvConf()
        ready.resolve()
        try? await gracefulShutdown()
        await proxy.stop()
        do { try resolvConf?.restore() } catch { logger.error("cannot restore the pod's resolv.conf", metadata: ["error": "\(error)"]) }
    }
}
