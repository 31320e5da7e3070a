import ArgumentParser
import Foundation
import Logging
import NSMAnnotation
import NSMAPI
import NSMCore
import NSMRuntime
import ServiceLifecycle
import UnixSignals

/// `nsm client`: the pod side, as the webhook injects it.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Connect this process's network namespace to the annotated network services and keep them healthy.",
        discussion: """
            Environment (as upstream's cmd-nsc): NSM_NETWORK_SERVICES (the annotation value), NSM_NAME, NSM_CONNECT_TO,
            POD_NAME, NODE_NAME, CLUSTER_NAME, NSM_REQUEST_TIMEOUT, NSM_MAX_TOKEN_LIFETIME. Closes everything on SIGTERM.
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

    func run() async throws {
        let annotation: NetworkServiceAnnotation
        do { annotation = try NetworkServiceAnnotation.parse(networkServices) } catch {
            throw ValidationError("NSM_NETWORK_SERVICES: \(error)")
        }
        let logger = Logger(label: "nsm.client")
        let pool = GRPCClientPool()
        let client = NSMClient(.init(
            name: name, managerURL: try NSMURL(connectTo), annotation: annotation,
            labels: ["podName": Environment.string("POD_NAME") ?? "", "nodeName": Environment.string("NODE_NAME") ?? "",
                     "clusterName": Environment.string("CLUSTER_NAME") ?? ""],
            namespaceURL: EndpointCommand.ownNamespaceURL(), requestTimeout: try GoDuration.parse(requestTimeout),
            maxTokenLifetime: try GoDuration.parse(maxTokenLifetime)), pool: pool, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: pool), .init(service: client)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await client.ready()
            printFlushed(ConnectionsTable.render(client.connections))
            try await tasks.waitForAll()
        }
    }
}
