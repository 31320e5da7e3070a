import Foundation
import Logging
import GRPCCore
public import NSMAPI
public import NSMCore
public import NSMElements
public import ServiceLifecycle

/// `nsm node` (manager part), one per node: the first hop of local clients, the registry
/// entry point of local forwarders and endpoints, and the hop that remote forwarders reach
/// over TCP.
///
/// Chain: updatepath, begin, metadata, timeout, monitor, clientinfo (nodeName),
/// discoverforwarder, excludedprefixes, connect (to the chosen forwarder).
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
    public let services: [any Service]

    /// - Parameter inProcess: hops living in this process (the node's forwarder), called directly.
    public init(_ configuration: Configuration, pool: GRPCClientPool, inProcess: InProcessHops? = nil, logger: Logger = Logger(label: "nsm.manager")) {
        self.configuration = configuration
        let publicURL = (configuration.publicURL ?? configuration.listenTCP).description
        let registry = RegistryClient(url: configuration.registryURL, pool: pool)
        let cache = CachingRegistryReader(upstream: registry, logger: logger)
        let reader = BypassingRegistryReader(upstream: cache, bypass: bypass, publicURL: publicURL)
        let bypass = self.bypass
        let forwarderService = configuration.forwarderServiceName
        let timeouts = TimeoutScheduler()
        var elements: [any NetworkServiceElement] = serverChainHead(name: configuration.name, lifetime: configuration.maxTokenLifetime, timeouts: timeouts, monitor: monitor) + [
            ClientInfoElement(labels: ["nodeName": configuration.nodeName]),
            DiscoverForwarderElement(forwarderService: forwarderService, services: reader) {
                var query = Registry_NetworkServiceEndpoint()
                query.networkServiceNames = [forwarderService]
                query.url = publicURL
                return try await cache.endpoints(matching: query)
                    .filter { $0.url == publicURL && bypass.localURL(for: $0.name) != nil }
                    .map { bypass.rewrite($0, publicURL: publicURL) }
            },
        ]
        if let path = configuration.excludedPrefixesFile {
            elements.append(ExcludedPrefixesElement(file: ExcludedPrefixesFile(path: path)))
        }
        let forwarderURL: @Sendable (Networkservice_NetworkServiceRequest, ChainContext) throws -> NSMURL = { request, context in
            if let chosen = context.values[DiscoverForwarderElement.Chosen.self] { return try NSMURL(chosen.url) }
            if let name = request.connection.nextPathSegment?.name, let url = bypass.localURL(for: name) { return try NSMURL(url) }
            throw NSMError.notFound("no forwarder known for connection \(request.connection.id)")
        }
        let relay = MonitorRelay(hopName: configuration.name, pool: pool, monitor: monitor, logger: logger)
        elements.append(MonitorRelayElement(relay: relay) { request, context in try? forwarderURL(request, context) })
        let dialer: any NetworkServiceDialer = inProcess.map { InProcessDialer(hops: $0, fallback: GRPCDialer(pool: pool)) } ?? GRPCDialer(pool: pool)
        elements.append(ConnectElement(dialer: dialer) { request, context in try forwarderURL(request, context) })
        let chain = NetworkServiceChain(elements)
        timeouts.attach(chain: chain, logger: logger)
        let grpcServices: [any RegistrableRPCService] = [
            NetworkServiceGRPCService(chain: chain, logger: logger),
            MonitorConnectionGRPCService(monitor: monitor),
            NetworkServiceEndpointRegistryGRPCService(
                chain: RegistryChain([LocalBypassElement(bypass: bypass, publicURL: publicURL), UpstreamEndpointRegistryElement(upstream: registry)])
            ) { query, writer in
                // Relayed watches end at graceful shutdown, so the server can stop.
                try? await cancelWhenGracefulShutdown {
                    try await registry.watchEndpoints(query) { response in
                        var response = response
                        response.networkServiceEndpoint = bypass.rewrite(response.networkServiceEndpoint, publicURL: publicURL)
                        try await writer.write(response)
                    }
                }
            },
            NetworkServiceRegistryGRPCService(chain: RegistryChain([UpstreamServiceRegistryElement(upstream: registry)])) { query, writer in
                try? await cancelWhenGracefulShutdown { try await registry.watchServices(query) { try await writer.write($0) } }
            },
            HealthGRPCService(services: ["networkservice.NetworkService", "connection.MonitorConnection"]),
        ]
        servers = [configuration.listenUnix, configuration.listenTCP].map {
            GRPCServerService(url: $0, services: grpcServices, logger: logger)
        }
        services = [cache] + servers + [timeouts, relay]
    }
}
