import GRPCCore
import Logging
public import IPAddressing
public import NSMAPI
public import NSMCore
public import NSMElements
public import ServiceLifecycle

/// `nsm node` (forwarder part), one per node: selects the endpoint and plumbs the data plane.
public struct Forwarder: Sendable {
    public struct Configuration: Sendable {
        public var name: String
        public var listen: NSMURL
        /// The node's manager (`NSM_CONNECT_TO`).
        public var managerURL: NSMURL
        /// This node's tunnel (underlay) address for VXLAN (`NSM_TUNNEL_IP`).
        public var tunnelIP: IPAddress
        /// Labels it registers under service `forwarder` (`NSM_LABELS`, default `p2p=true`).
        public var labels: [String: String]
        public var vxlanPort: UInt16
        public var underlayMTU: UInt32
        public var maxTokenLifetime: Duration
        /// Whether a KERNEL mechanism that reaches the forwarder over its own socket may only name
        /// the caller's network namespace (``CallerNamespaceElement``; in-process calls from the
        /// node's manager were checked there). Off only for tests with made-up namespace inodes.
        public var checksCallerNamespace = true
        /// Whether an endpoint's answer may only name the endpoint process's own namespace
        /// (``EndpointNamespaceElement``). Off only for tests whose endpoints run in the test's
        /// process while naming other namespaces.
        public var checksEndpointNamespace = true

        public init(
            name: String, listen: NSMURL, managerURL: NSMURL, tunnelIP: IPAddress, labels: [String: String] = ["p2p": "true"],
            vxlanPort: UInt16 = Connection_Mechanism.defaultVXLANPort, underlayMTU: UInt32 = 1500, maxTokenLifetime: Duration = .seconds(600)
        ) {
            self.name = name
            self.listen = listen
            self.managerURL = managerURL
            self.tunnelIP = tunnelIP
            self.labels = labels
            self.vxlanPort = vxlanPort
            self.underlayMTU = underlayMTU
            self.maxTokenLifetime = maxTokenLifetime
        }
    }

    public let configuration: Configuration
    public let monitor = ConnectionMonitor()
    public let server: GRPCServerService
    /// Its registration (under service `forwarder`): requests can reach it once resolved.
    public let registration: RegistrationKeeper
    /// NOT_SERVING until the command marks it ready (registered), and again from shutdown.
    public let health: HealthStatus
    public let services: [any Service]
    /// What discovery sees of the registry (kept current by a watch).
    public let registryView: any RegistryReader

    /// - Parameter inProcess: where to offer its chain to a manager in the same process.
    public init(
        _ configuration: Configuration, dataPlane: any ForwarderDataPlane, pool: GRPCClientPool, inProcess: InProcessHops? = nil,
        logger: Logger = Logger(label: "nsm.forwarder")
    ) {
        let health = HealthStatus()
        self.health = health
        self.configuration = configuration
        let registry = RegistryClient(url: configuration.managerURL, pool: pool)
        let cache = CachingRegistryReader(upstream: registry, logger: logger)
        registryView = cache
        let timeouts = TimeoutScheduler()
        let dialer = GRPCDialer(pool: pool)
        // A connection whose endpoint is gone (its monitor stream broke or said so) is closed
        // here at once: its interfaces are deleted and the endpoint's namespace let go, so the
        // client's data path check sees the loss and reselects, instead of a dead endpoint's
        // namespace answering for it.
        let name = configuration.name
        let relay = MonitorRelay(hopName: name, dialer: dialer, monitor: monitor, logger: logger) { connection in
            guard connection.nextHopIsEndpoint(after: name) else { return }
            await timeouts.closeNow(connection.id, reason: "its endpoint is gone")
        }
        let tunnelIP = configuration.tunnelIP, vxlanPort = configuration.vxlanPort
        let chain = NetworkServiceChain([
            ValidateRequestElement(),
            MetricsElement(hop: "forwarder"),
            configuration.checksCallerNamespace ? CallerNamespaceElement() : nil,
            pool.identity.map { PathTokenElement(identity: $0) },
            UpdatePathElement(name: configuration.name),
            ExpiresElement(lifetime: configuration.maxTokenLifetime),
            BeginElement(),
            MetadataElement(),
            TimeoutElement(scheduler: timeouts),
            MonitorElement(monitor),
            IncomingMechanismElement(tunnelIP: tunnelIP, vxlanPort: vxlanPort),
            DiscoverElement(registry: cache),
            RoundRobinElement(),
            RestoreNextHopElement(EndpointByName(registry: registry)),
            OutgoingMechanismElement(tunnelIP: tunnelIP, vxlanPort: vxlanPort),
            DataPlaneElement(dataPlane),
            TunnelMTUElement(underlayMTU: configuration.underlayMTU, family: tunnelIP.family),
            VNIElement(tunnelIP: tunnelIP),
            MechanismTranslationElement(),
            MonitorRelayElement(relay: relay),
            configuration.checksEndpointNamespace ? EndpointNamespaceElement(dialer: dialer) : nil,
            ConnectElement(dialer: dialer),
        ])
        timeouts.attach(chain: chain, logger: logger)
        inProcess?.register(configuration.listen, chain: chain, logger: logger, name: "forwarder")
        server = GRPCServerService(url: configuration.listen, services: [
            NetworkServiceGRPCService(chain: chain, logger: logger, hop: "forwarder"),
            MonitorConnectionGRPCService(monitor: monitor),
            HealthGRPCService(services: ["networkservice.NetworkService", "connection.MonitorConnection"], status: health),
        ], logger: logger, identity: pool.identity, health: health)
        var registration = Registry_NetworkServiceEndpoint()
        registration.name = configuration.name
        registration.networkServiceNames = ["forwarder"]
        registration.setLabels(configuration.labels, forService: "forwarder")
        registration.url = configuration.listen.description
        let keeper = RegistrationKeeper(
            endpoint: registration, logger: logger,
            register: { try await registry.register($0) }, unregister: { try await registry.unregister($0) },
            watch: { try await registry.watchOwnEntry($0) })
        self.registration = keeper
        services = [cache, server, timeouts, relay, keeper]
    }
}
