import Foundation
import Logging
import GRPCCore
import NSMAPI
public import NSMCore
public import NSMElements
public import ServiceLifecycle

/// `nsm node` (manager part), one per node: the first hop of local clients, the registry
/// entry point of local forwarders and endpoints, and the hop that remote forwarders reach
/// over TCP.
///
public struct Manager: Sendable {
    public struct Configuration: Sendable {
        public var name: String
        /// Where local clients, forwarders and endpoints reach it (`unix:///…/nsm.io.sock`).
        public var listenUnix: NSMURL
        /// Where other nodes reach it; also published as the URL of this node's endpoints.
        public var listenTCP: NSMURL
        /// The URL published to the registry, when it differs from `listenTCP` (e.g. 0.0.0.0).
        public var publicURL: NSMURL?
        public var registryURL: NSMURL
        public var nodeName: String
        /// The cluster's excluded prefixes file (`Prefixes:` YAML), if any.
        public var excludedPrefixesFile: String?
        public var forwarderServiceName: String
        /// Connections not refreshed within this time are closed (token lifetime).
        public var maxTokenLifetime: Duration
        /// Whether a KERNEL mechanism may only name its caller's own network namespace
        /// (``CallerNamespaceElement``). Always on in `nsm node`; off only for tests whose pods
        /// are made-up namespace inodes behind a recording data plane.
        public var checksCallerNamespace = true

        public init(
            name: String, listenUnix: NSMURL, listenTCP: NSMURL, publicURL: NSMURL? = nil, registryURL: NSMURL, nodeName: String,
            excludedPrefixesFile: String? = nil, forwarderServiceName: String = "forwarder", maxTokenLifetime: Duration = .seconds(600)
        ) {
            self.name = name
            self.listenUnix = listenUnix
            self.listenTCP = listenTCP
            self.publicURL = publicURL
            self.registryURL = registryURL
            self.nodeName = nodeName
            self.excludedPrefixesFile = excludedPrefixesFile
            self.forwarderServiceName = forwarderServiceName
            self.maxTokenLifetime = maxTokenLifetime
        }
    }

    public let configuration: Configuration
    public let monitor = ConnectionMonitor()
    public let bypass = LocalBypass()
    public let servers: [GRPCServerService]
    /// NOT_SERVING until the command marks it ready (its forwarder registered), and again from shutdown.
    public let health: HealthStatus
    public let services: [any Service]

    /// - Parameter inProcess: hops living in this process (the node's forwarder), called directly.
    public init(_ configuration: Configuration, pool: GRPCClientPool, inProcess: InProcessHops? = nil, logger: Logger = Logger(label: "nsm.manager")) {
        let health = HealthStatus()
        self.health = health
        self.configuration = configuration
        let publicURL = (configuration.publicURL ?? configuration.listenTCP).description
        let registry = RegistryClient(url: configuration.registryURL, pool: pool)
        let cache = CachingRegistryReader(upstream: registry, logger: logger)
        let forwarders = LocalForwarders(serviceName: configuration.forwarderServiceName, registry: cache, bypass: bypass, publicURL: publicURL)
        let dialer: any NetworkServiceDialer = inProcess.map { InProcessDialer(hops: $0, fallback: GRPCDialer(pool: pool), identity: pool.identity) } ?? GRPCDialer(pool: pool)
        let timeouts = TimeoutScheduler()
        let relay = MonitorRelay(hopName: configuration.name, dialer: dialer, monitor: monitor, logger: logger)
        let excludedPrefixes = configuration.excludedPrefixesFile.map { ExcludedPrefixesElement(file: ExcludedPrefixesFile(path: $0)) }
        let owners = ConnectionOwnerElement()
        let chain = NetworkServiceChain([
            ValidateRequestElement(),
            MetricsElement(hop: "manager"),
            configuration.checksCallerNamespace ? CallerNamespaceElement() : nil,
            pool.identity.map { PathTokenElement(identity: $0) },
            UpdatePathElement(name: configuration.name),
            ExpiresElement(lifetime: configuration.maxTokenLifetime),
            BeginElement(),
            owners,
            MetadataElement(),
            TimeoutElement(scheduler: timeouts),
            MonitorElement(monitor),
            ClientInfoElement(labels: ["nodeName": configuration.nodeName]),
            DiscoverForwarderElement(forwarders: forwarders, services: BypassingRegistryReader(upstream: cache, bypass: bypass, publicURL: publicURL)),
            RestoreNextHopElement(forwarders),
            excludedPrefixes,
            MonitorRelayElement(relay: relay),
            ConnectElement(dialer: dialer),
        ])
        timeouts.attach(chain: chain, logger: logger)
        let grpcServices: [any RegistrableRPCService] = [
            NetworkServiceGRPCService(chain: chain, logger: logger, hop: "manager"),
            MonitorConnectionGRPCService(monitor: monitor, owners: owners, identity: pool.identity),
            NetworkServiceEndpointRegistryGRPCService(proxyingTo: registry, bypass: bypass, publicURL: publicURL),
            NetworkServiceRegistryGRPCService(proxyingTo: registry),
            HealthGRPCService(services: ["networkservice.NetworkService", "connection.MonitorConnection"], status: health),
        ]
        servers = [configuration.listenUnix, configuration.listenTCP].map {
            GRPCServerService(url: $0, services: grpcServices, logger: logger, identity: pool.identity, health: health)
        }
        services = [cache] + servers + [timeouts, relay]
    }
}
