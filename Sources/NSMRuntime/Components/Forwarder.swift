import GRPCCore
import Logging
public import IPAddressing
public import NSMAPI
public import NSMCore
public import NSMElements
public import ServiceLifecycle

/// `nsm node` (forwarder part), one per node: selects the endpoint and plumbs the data plane.
///
/// Chain: updatepath, begin, metadata, timeout, monitor, discover, roundrobin,
/// mechanism translation + data plane, connect (to the endpoint, or to its node's manager).
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
    public let services: [any Service]
    /// What discovery sees of the registry (kept current by a watch).
    public let registryView: any RegistryReader

    /// - Parameter inProcess: where to offer its chain to a manager in the same process.
    public init(
        _ configuration: Configuration, dataPlane: any ForwarderDataPlane, pool: GRPCClientPool, inProcess: InProcessHops? = nil,
        logger: Logger = Logger(label: "nsm.forwarder")
    ) {
        self.configuration = configuration
        let registry = RegistryClient(url: configuration.managerURL, pool: pool)
        let cache = CachingRegistryReader(upstream: registry, logger: logger)
        registryView = cache
        let endpointURL: @Sendable (Networkservice_NetworkServiceRequest, ChainContext) throws -> NSMURL = { request, context in
            if let chosen = context.values[RoundRobinElement.Chosen.self] ?? context.metadata[RoundRobinElement.Chosen.self] {
                return try NSMURL(chosen.url)
            }
            throw NSMError.notFound("no endpoint chosen for connection \(request.connection.id)")
        }
        let timeouts = TimeoutScheduler()
        let relay = MonitorRelay(hopName: configuration.name, pool: pool, monitor: monitor, logger: logger)
        let chain = NetworkServiceChain(serverChainHead(name: configuration.name, lifetime: configuration.maxTokenLifetime, timeouts: timeouts, monitor: monitor) + [
            DiscoverElement(registry: cache),
            RoundRobinElement(),
            MechanismTranslationElement(
                tunnelIP: configuration.tunnelIP, vxlanPort: configuration.vxlanPort, underlayMTU: configuration.underlayMTU,
                dataPlane: dataPlane, endpointURL: endpointURL),
            MonitorRelayElement(relay: relay) { request, context in try? endpointURL(request, context) },
            ConnectElement(dialer: GRPCDialer(pool: pool)) { request, context in
                if let url = try? endpointURL(request, context) { return url }
                // Close after a restart: find the endpoint by name.
                var query = Registry_NetworkServiceEndpoint()
                query.name = request.connection.networkServiceEndpointName
                guard !query.name.isEmpty, let found = try await registry.endpoints(matching: query).first else {
                    throw NSMError.notFound("endpoint \"\(request.connection.networkServiceEndpointName)\" is not registered")
                }
                return try NSMURL(found.url)
            },
        ])
        timeouts.attach(chain: chain, logger: logger)
        inProcess?.register(configuration.listen, chain: chain, logger: logger)
        server = GRPCServerService(url: configuration.listen, services: [
            NetworkServiceGRPCService(chain: chain, logger: logger),
            MonitorConnectionGRPCService(monitor: monitor),
            HealthGRPCService(services: ["networkservice.NetworkService", "connection.MonitorConnection"]),
        ], logger: logger)
        var registration = Registry_NetworkServiceEndpoint()
        registration.name = configuration.name
        registration.networkServiceNames = ["forwarder"]
        registration.setLabels(configuration.labels, forService: "forwarder")
        registration.url = configuration.listen.description
        let keeper = RegistrationKeeper(
            endpoint: registration, logger: logger,
            register: { try await registry.register($0) }, unregister: { try await registry.unregister($0) })
        services = [cache, server, timeouts, relay, keeper]
    }
}
