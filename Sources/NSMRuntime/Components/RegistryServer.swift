import GRPCCore
import Logging
public import NSMCore
public import NSMRegistry
public import ServiceLifecycle
public import SPIFFE

/// `nsm registry`: both registries over gRPC, in memory, with endpoint expiry.
public struct RegistryServer: Sendable {
    public struct Configuration: Sendable {
        public var listen: [NSMURL]
        /// Endpoint registrations expire after this many seconds unless renewed (`NSM_EXPIRE_PERIOD`).
        public var expirePeriod: Duration
        /// This process's SPIFFE identity: mutual TLS on every listener; `nil` for plaintext.
        public var identity: (any X509Source)?
        /// Registrations over the network must publish the registrant's own address
        /// (`RegistrantAddressElement`); off only where managers reach the registry through source NAT.
        public var checksRegistrantAddress = true

        public init(listen: [NSMURL], expirePeriod: Duration = .seconds(60), identity: (any X509Source)?) {
            self.listen = listen
            self.expirePeriod = expirePeriod
            self.identity = identity
        }
    }

    public let storage: RegistryStore
    public let servers: [GRPCServerService]
    /// NOT_SERVING until the command marks it ready (its store listed), and again from shutdown.
    public let health: HealthStatus
    public let services: [any Service]

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "nsm.registry")) {
        let health = HealthStatus()
        self.health = health
        let period = configuration.expirePeriod.components
        let storage = RegistryStore(expirePeriod: Double(period.seconds) + Double(period.attoseconds) / 1e18)
        self.storage = storage
        // One set of services for every listener: their chains hold state (who owns an endpoint name).
        let registries: [any RegistrableRPCService] = [
            NetworkServiceRegistryGRPCService(storage: storage, identity: configuration.identity),
            NetworkServiceEndpointRegistryGRPCService(
                storage: storage, checksRegistrantAddress: configuration.checksRegistrantAddress, identity: configuration.identity),
        ]
        let servers = configuration.listen.map { url in
            GRPCServerService(url: url, services: registries + [
                HealthGRPCService(services: ["registry.NetworkServiceRegistry", "registry.NetworkServiceEndpointRegistry"], status: health),
            ], logger: logger, identity: configuration.identity, health: health)
        }
        self.servers = servers
        services = servers + [RegistryExpiryService(storage: storage)]
    }

    /// A registry server on another store: its registries' gRPC services, `view` the store's
    /// in-memory view (for callers that read it), and the store's own services (informers, expiry).
    public init(
        listen: [NSMURL], view: RegistryStore, registries: [any RegistrableRPCService], storeServices: [any Service], identity: (any X509Source)?,
        logger: Logger = Logger(label: "nsm.registry")
    ) {
        let health = HealthStatus()
        self.health = health
        storage = view
        let servers = listen.map { url in
            GRPCServerService(url: url, services: registries + [
                HealthGRPCService(services: ["registry.NetworkServiceRegistry", "registry.NetworkServiceEndpointRegistry"], status: health),
            ], logger: logger, identity: identity, health: health)
        }
        self.servers = servers
        // The store first: on shutdown services stop in reverse, so the servers stop before it.
        services = storeServices + servers
    }
}
