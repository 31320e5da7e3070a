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
            NSM_LOCAL_DNS_SERVER_ADDRESS. Closes everything on SIGTERM.
            With the local DNS server (default, as upstream) it serves 127.0.0.1:53 in this namespace, points \
            /etc/resolv.conf at it while it runs (the original servers stay the cluster DNS) and fans each query out to \
            the cluster DNS and to the DNS of every connected service that serves the name.
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

    func validate() throws { try Environment.checkBools(["NSM_LOCAL_DNS_SERVER_ENABLED"]) }

    func run() async throws {
        ProcessExecutor.install()
        let annotation: NetworkServiceAnnotation
        do { annotation = try NetworkServiceAnnotation.parse(networkServices) } catch {
            throw ValidationError("NSM_NETWORK_SERVICES: \(error)")
        }
        let logger = ComponentLogging.logger("nsm.client")
        let pool = GRPCClientPool()
        var podDNS: PodDNS?
        if localDNSServerEnabled {
            let listen: DNSListenAddress
            do { listen = try DNSListenAddress(parsing: localDNSServerAddress) } catch { throw ValidationError("NSM_LOCAL_DNS_SERVER_ADDRESS: \(error)") }
            podDNS = try PodDNS(.init(listen: listen, resolvConfPath: resolvConf), logger: logger)
        }
        let client = NSMClient(.init(
            name: name, managerURL: try NSMURL(connectTo), annotation: annotation,
            labels: ["podName": Environment.string("POD_NAME") ?? "", "nodeName": Environment.string("NODE_NAME") ?? "",
                     "clusterName": Environment.string("CLUSTER_NAME") ?? ""],
            namespaceURL: EndpointCommand.ownNamespaceURL(), requestTimeout: try Environment.duration(requestTimeout, flag: "request-timeout", variable: "NSM_REQUEST_TIMEOUT"),
            maxTokenLifetime: try Environment.duration(maxTokenLifetime, flag: "max-token-lifetime", variable: "NSM_MAX_TOKEN_LIFETIME"), onConnectionsChange: { [podDNS] in podDNS?.update($0) }),
            pool: pool, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: pool)] + (podDNS.map { [.init(service: $0)] } ?? []) + [.init(service: client)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await client.ready()
            printFlushed(ConnectionsTable.render(client.connections))
            ServiceNotification.ready(status: "\(client.connections.count) network service(s) connected")
            try await tasks.waitForAll()
        }
    }
}
