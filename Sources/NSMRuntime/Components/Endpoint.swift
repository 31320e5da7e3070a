import GRPCCore
import Logging
public import IPAddressing
public import NSMAPI
public import NSMCore
public import NSMElements
public import NSMDNS
public import ServiceLifecycle

/// `nsm endpoint`: provides network services (like upstream's icmp-responder): point-to-point
/// IPAM from CIDR pools, routes and DNS configs for its clients, and its side of a KERNEL
/// mechanism; registers itself (and its services) through the node's manager and keeps the
/// registration fresh.
public struct Endpoint: Sendable {
    public struct Configuration: Sendable {
        public var name: String
        public var serviceNames: [String]
        /// Labels per service (`NSM_LABELS` applies the same labels to every service).
        public var labels: [String: String]
        /// Address pools (`NSM_CIDR_PREFIX`, e.g. `172.16.1.0/24,fd00::/120`).
        public var cidrPrefixes: [IPPrefix]
        /// Prefixes clients should route through this endpoint.
        public var routes: [IPPrefix]
        public var dnsConfigs: [Connectioncontext_DNSConfig]
        /// A zone the endpoint serves itself on `dnsListen` (UDP and TCP, all its addresses); each
        /// client gets the endpoint's address on its connection as the DNS server for the zone.
        public var dnsZone: DNSZone?
        public var dnsListen: DNSListenAddress
        public var listen: NSMURL
        /// The node's manager (`NSM_CONNECT_TO`).
        public var managerURL: NSMURL
        public var payload: String
        /// Whether to register the network services too (`NSM_REGISTER_SERVICE`).
        public var registerService: Bool
        /// The endpoint's own network namespace as an `inode://…` or `file://…` URL.
        public var namespaceURL: String
        public var maxTokenLifetime: Duration
        /// Unregister on graceful shutdown (`NSM_UNREGISTER_ITSELF`, default false as upstream:
        /// the registration then lapses at its expiry).
        public var unregisterOnShutdown: Bool

        public init(
            name: String, serviceNames: [String], labels: [String: String] = [:], cidrPrefixes: [IPPrefix], routes: [IPPrefix] = [],
            dnsConfigs: [Connectioncontext_DNSConfig] = [], listen: NSMURL, managerURL: NSMURL, payload: String = Payload.ethernet,
            registerService: Bool = true, namespaceURL: String = NamespaceURL.currentThread.description, maxTokenLifetime: Duration = .seconds(600),
            unregisterOnShutdown: Bool = false, dnsZone: DNSZone? = nil, dnsListen: DNSListenAddress = DNSListenAddress(host: "0.0.0.0", port: 53)
        ) {
            self.dnsZone = dnsZone
            self.dnsListen = dnsListen
            self.unregisterOnShutdown = unregisterOnShutdown
            self.name = name
            self.serviceNames = serviceNames
            self.labels = labels
            self.cidrPrefixes = cidrPrefixes
            self.routes = routes
            self.dnsConfigs = dnsConfigs
            self.listen = listen
            self.managerURL = managerURL
            self.payload = payload
            self.registerService = registerService
            self.namespaceURL = namespaceURL
            self.maxTokenLifetime = maxTokenLifetime
        }
    }

    public let configuration: Configuration
    public let monitor = ConnectionMonitor()
    public let ipam: PointToPointIPAM
    public let server: GRPCServerService
    /// Its registration: clients can be sent to it once resolved.
    public let registration: RegistrationKeeper
    /// NOT_SERVING until the command marks it ready (registered), and again from shutdown.
    public let health: HealthStatus
    public let services: [any Service]

    public init(_ configuration: Configuration, pool: GRPCClientPool, logger: Logger = Logger(label: "nsm.endpoint")) throws {
        let health = HealthStatus()
        self.health = health
        guard !configuration.serviceNames.isEmpty else {
            throw NSMError.invalidArgument("endpoint \"\(configuration.name)\" provides no network service (NSM_SERVICE_NAMES is empty)")
        }
        guard !configuration.cidrPrefixes.isEmpty else {
            throw NSMError.invalidArgument("endpoint \"\(configuration.name)\" has no address pool (NSM_CIDR_PREFIX is empty)")
        }
        self.configuration = configuration
        let ipam = PointToPointIPAM(pools: configuration.cidrPrefixes)
        self.ipam = ipam
        let timeouts = TimeoutScheduler()
        // Its own address as a DNS server only when it serves a zone, and only for that zone: an
        // endpoint that advertised DNS it does not serve would hold every negative answer.
        let ownDNS = configuration.dnsZone.map { OwnDNSServerElement(searchDomains: [String($0.origin.description.dropLast())]) }
        let chain = NetworkServiceChain([
            ValidateRequestElement(),
            MetricsElement(hop: "endpoint"),
            pool.identity.map { PathTokenElement(identity: $0) },
            UpdatePathElement(name: configuration.name),
            ExpiresElement(lifetime: configuration.maxTokenLifetime),
            BeginElement(),
            MetadataElement(),
            TimeoutElement(scheduler: timeouts),
            MonitorElement(monitor),
            TrimPathElement(),
            ipam,
            RoutesElement(routes: configuration.routes),
            DNSContextElement(configs: configuration.dnsConfigs),
            ownDNS,
            KernelMechanismElement(namespaceURL: configuration.namespaceURL),
        ])
        timeouts.attach(chain: chain, logger: logger)
        server = GRPCServerService(url: configuration.listen, services: [
            NetworkServiceGRPCService(chain: chain, logger: logger, hop: "endpoint"),
            MonitorConnectionGRPCService(monitor: monitor),
            HealthGRPCService(services: ["networkservice.NetworkService", "connection.MonitorConnection"], status: health),
        ], logger: logger, identity: pool.identity, health: health)
        let registry = RegistryClient(url: configuration.managerURL, pool: pool)
        var entry = Registry_NetworkServiceEndpoint()
        entry.name = configuration.name
        entry.networkServiceNames = configuration.serviceNames
        for service in configuration.serviceNames { entry.setLabels(configuration.labels, forService: service) }
        entry.url = configuration.listen.description
        let services = configuration.registerService ? configuration.serviceNames : []
        let payload = configuration.payload
        let keeper = RegistrationKeeper(
            endpoint: entry, logger: logger,
            register: { endpoint in
                for name in services {
                    var service = Registry_NetworkService()
                    service.name = name
                    service.payload = payload
                    // Keep matches someone else registered for the service.
                    if let existing = try? await registry.networkService(named: name) { service.matches = existing.matches }
                    _ = try await registry.register(service)
                }
                return try await registry.register(endpoint)
            },
            unregister: { [unregister = configuration.unregisterOnShutdown] in if unregister { try await registry.unregister($0) } },
            watch: { endpoint in try await registry.watchOwnEntry(endpoint) })
        // Keeper first: on shutdown services stop in reverse, so the server stops before the
        // registration is (optionally) withdrawn.
        let zoneServer: [any Service] = configuration.dnsZone.map { [DNSZoneServer(zone: $0, listen: [configuration.dnsListen], logger: logger)] } ?? []
        self.registration = keeper
        self.services = [keeper, timeouts] + zoneServer + [server]
    }
}
