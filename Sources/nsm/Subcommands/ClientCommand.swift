import Readiness
import ArgumentParser
import Foundation
import Logging
import NSMAnnotation
import NSMAPI
import NSMCore
import NSMDNS
import NSMRuntime
import ServiceLifecycle
import UnixSignals

/// `nsm client`: the pod side, as the webhook injects it.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Connect this process's network namespace to the annotated network services and keep them healthy.",
        discussion: """
            Environment (as upstream's cmd-nsc): NSM_NETWORK_SERVICES (the annotation value), NSM_NAME, NSM_CONNECT_TO, \
            POD_NAME, NODE_NAME, CLUSTER_NAME, NSM_REQUEST_TIMEOUT, NSM_MAX_TOKEN_LIFETIME, NSM_LOCAL_DNS_SERVER_ENABLED, \
            NSM_LOCAL_DNS_SERVER_ADDRESS, NSM_LIVENESS_CHECK_ENABLED, NSM_LIVENESS_CHECK_INTERVAL, NSM_LIVENESS_CHECK_TIMEOUT. \
            Closes everything on SIGTERM.
            Liveness (default on, as upstream): an ICMP echo to each connection's endpoint address every interval; no reply \
            for the timeout and the connection is requested again along its path, then healed with a new endpoint.
            With the local DNS server (default, as upstream) it serves 127.0.0.1:53 in this namespace, points \
            /etc/resolv.conf at it while it runs (the original servers stay the cluster DNS) and fans each query out to \
            the cluster DNS and to the DNS of every connected service that serves the name.
            With --init (the injected init container): connects every service, waits until each interface is up in this \
            namespace with its addresses, prints them and exits 0, leaving the connections for the sidecar (same NSM_NAME) to \
            take over without re-plumbing. A service that cannot be connected is retried with back-off for at most \
            4 x NSM_REQUEST_TIMEOUT (60 s by default); then it exits 1 and writes the reason to --termination-log, \
            which `kubectl describe pod` shows. Generated interface names are derived from NSM_NAME, so both containers \
            choose the same ones.
            \(ProcessIdentity.help)
            \(ComponentTelemetry.help)
            """
    )

    @Option(help: "The annotation value, e.g. 'kernel://svc/nsm-1?app=foo' (NSM_NETWORK_SERVICES).")
    var networkServices: String = Environment.string("NSM_NETWORK_SERVICES") ?? ""

    @Option(help: "Client name; connection ids are <name>-<i> (NSM_NAME).")
    var name: String = Environment.string("NSM_NAME") ?? "nsc"

    @Option(help: "The node's manager (NSM_CONNECT_TO).")
    var connectTo: String = Environment.string("NSM_CONNECT_TO") ?? "unix:///var/lib/networkservicemesh/nsm.io.sock"

    @Option(help: "Request timeout (NSM_REQUEST_TIMEOUT).")
    var requestTimeout: String = Environment.string("NSM_REQUEST_TIMEOUT") ?? "15s"

    @Option(help: "Connection lifetime without refresh (NSM_MAX_TOKEN_LIFETIME).")
    var maxTokenLifetime: String = Environment.string("NSM_MAX_TOKEN_LIFETIME") ?? "10m"

    @Option(help: "Run the pod's DNS proxy (NSM_LOCAL_DNS_SERVER_ENABLED).")
    var localDNSServerEnabled: Bool = Environment.bool("NSM_LOCAL_DNS_SERVER_ENABLED") ?? true

    @Option(help: "Where the DNS proxy listens (NSM_LOCAL_DNS_SERVER_ADDRESS).")
    var localDNSServerAddress: String = Environment.string("NSM_LOCAL_DNS_SERVER_ADDRESS") ?? "127.0.0.1:53"

    @Option(help: "The resolv.conf the DNS proxy rewrites while it runs and restores on exit.")
    var resolvConf: String = "/etc/resolv.conf"

    @OptionGroup var liveness: LivenessOptions

    @Flag(name: .customLong("init"), help: "Connect every service, wait for the interfaces, exit (the injected init container).")
    var initOnly = false

    @Option(help: "Where the connections are kept for the next process of this client (NSM_CLIENT_STATE_FILE): the sidecar adopts the init container's, a restarted sidecar its own.")
    var stateFile: String? = Environment.string("NSM_CLIENT_STATE_FILE")
    var state: ClientStateFile? { stateFile.map(ClientStateFile.init) }

    @Option(help: "Where --init writes why it failed (Kubernetes' terminationMessagePath).")
    var terminationLog: String = "/dev/termination-log"

    func validate() throws { try Environment.checkBools(["NSM_LOCAL_DNS_SERVER_ENABLED"]) }

    func run() async throws {
        ProcessExecutor.install()
        let annotation: NetworkServiceAnnotation
        do {
            // Generated interface names follow from the client's name: the init container and the
            // sidecar (same NSM_NAME) choose the same ones.
            var names = SeededGenerator(seed: Self.seed(name))
            annotation = try NetworkServiceAnnotation.parse(networkServices, using: &names)
        } catch {
            if initOnly { ClientInit.writeTerminationMessage("NSM_NETWORK_SERVICES: \(error)", to: terminationLog) }
            throw ValidationError("NSM_NETWORK_SERVICES: \(error)")
        }
        let logger = ComponentLogging.logger("nsm.client")
        // Before anything that makes metrics: handles made earlier would stay with the no-op backend.
        let telemetry = try ComponentTelemetry(logger: logger, name: name)
        let timeout = try Environment.duration(requestTimeout, flag: "request-timeout", variable: "NSM_REQUEST_TIMEOUT")
        let identity: ProcessIdentity
        do { identity = try ProcessIdentity.fromEnvironment(logger: logger) } catch {
            if initOnly { ClientInit.writeTerminationMessage("\(error)", to: terminationLog) }
            throw error
        }
        let pool = GRPCClientPool(identity: identity.source)
        if initOnly {
            let client = try makeClient(annotation, pool: pool, timeout: timeout, podDNS: nil, logger: logger)
            try await ClientInit(client: client, pool: pool, identity: identity, annotation: annotation, bound: timeout * 4, terminationLog: terminationLog,
                                 state: state, logger: logger).run()
            return
        }
        try await identity.ready()
        var podDNS: PodDNS?
        if localDNSServerEnabled {
            let listen: DNSListenAddress
            do { listen = try DNSListenAddress(parsing: localDNSServerAddress) } catch { throw ValidationError("NSM_LOCAL_DNS_SERVER_ADDRESS: \(error)") }
            podDNS = try PodDNS(.init(listen: listen, resolvConfPath: resolvConf), logger: logger)
        }
        let client = try makeClient(annotation, pool: pool, timeout: timeout, podDNS: podDNS, logger: logger)
        if telemetry.server != nil, let podDNS { DNSMetricsExposition.register(podDNS.proxy) }
        let services: [any Service] = telemetry.around(identity.services + [pool] + (podDNS.map { [$0] } ?? []) + [client])
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask { try await group.run(); return true }
            tasks.addTask {
                try await telemetry.announce()
                await client.ready()
                guard !Task.isCancelled else { return false }
                printFlushed(ConnectionsTable.render(client.connections))
                ServiceNotification.ready(status: "\(client.connections.count) network service(s) connected")
                telemetry.markReady()
                return false
            }
            // The services stopping (SIGTERM) ends the wait for readiness too.
            while let servicesEnded = try await tasks.next() {
                if servicesEnded { tasks.cancelAll() }
            }
        }
        if client.connections.isEmpty { state?.remove() }
    }

    func makeClient(_ annotation: NetworkServiceAnnotation, pool: GRPCClientPool, timeout: Duration, podDNS: PodDNS?, logger: Logger) throws -> NSMClient {
        let state = self.state
        var configuration = NSMClient.Configuration(
            name: name, managerURL: try NSMURL(connectTo), annotation: annotation,
            labels: ["podName": Environment.string("POD_NAME") ?? "", "nodeName": Environment.string("NODE_NAME") ?? "",
                     "clusterName": Environment.string("CLUSTER_NAME") ?? ""],
            namespaceURL: EndpointCommand.ownNamespaceURL(), requestTimeout: timeout,
            maxTokenLifetime: try Environment.duration(maxTokenLifetime, flag: "max-token-lifetime", variable: "NSM_MAX_TOKEN_LIFETIME"),
            onConnectionsChange: { [podDNS] connections in
                podDNS?.update(connections)
                do { try state?.write(connections) } catch {
                    logger.warning("cannot keep the connections for the next process", metadata: ["file": "\(state?.path ?? "")", "error": "\(error)"])
                }
            })
        // The init container only connects; the sidecar watches the data path.
        if !initOnly { configuration.liveness = try liveness.check() }
        if let state {
            configuration.adopted = state.read()
            if !configuration.adopted.isEmpty { logger.info("adopting connections", metadata: ["count": "\(configuration.adopted.count)", "file": "\(state.path)"]) }
        }
        return NSMClient(configuration, pool: pool, logger: logger)
    }

    /// FNV-1a of the client's name: the seed of its generated interface names.
    static func seed(_ name: String) -> UInt64 {
        name.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }
}
