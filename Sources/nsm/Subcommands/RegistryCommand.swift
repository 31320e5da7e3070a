import Readiness
import ArgumentParser
import Logging
import NSMCore
import NSMRuntime
import Kubernetes
import NSMKubernetes
import ServiceLifecycle
import UnixSignals

/// `nsm registry`: the network service and endpoint registries (in memory).
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Run the registry of network services and endpoints.",
        discussion: """
            Environment (as upstream registry-k8s): NSM_LISTEN_ON, NSM_EXPIRE_PERIOD, NSM_REGISTRY_STORE (memory or kubernetes),             NSM_NAMESPACE (where the kubernetes store writes; default: the pod's, or the kubeconfig context's), NSM_KUBELET_QPS.             Flags override them. The kubernetes store keeps NetworkServices and NetworkServiceEndpoints as custom resources             (deploy/crds), readable by upstream's registry-k8s and kubectl.
            \(ProcessIdentity.help)
            \(ComponentTelemetry.help)
            """
    )

    @Option(help: "Where to listen, comma-separated (NSM_LISTEN_ON). E.g. tcp://:5002,unix:///run/nsm/registry.sock")
    var listenOn: String = Environment.string("NSM_LISTEN_ON") ?? "tcp://:5002"
    @Option(name: .customLong("listen"), help: .hidden) var legacyListen: String?
    var listen: String { legacyListen ?? listenOn }

    @Option(help: "How long an endpoint registration lasts without renewal (NSM_EXPIRE_PERIOD), e.g. 1m, 30s.")
    var expirePeriod: String = Environment.string("NSM_EXPIRE_PERIOD") ?? "1m"

    @Option(help: "Where registrations live: memory or kubernetes (NSM_REGISTRY_STORE).")
    var store: String = Environment.string("NSM_REGISTRY_STORE") ?? "memory"
    @Option(help: "The namespace the kubernetes store writes to (NSM_NAMESPACE).")
    var namespace: String? = Environment.string("NSM_NAMESPACE")
    @Option(help: "A kubeconfig for the kubernetes store; in a pod the service account is used without it.")
    var kubeconfig: String?
    @Option(help: "Calls per second to the API server (NSM_KUBELET_QPS).")
    var kubeletQPS: Double = Double(Environment.string("NSM_KUBELET_QPS") ?? "") ?? 50
    @Option(help: "Registrations over the network must publish the registrant's own address (NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS); false only where managers reach the registry through source NAT.")
    var checkRegistrantAddress: Bool = Environment.bool("NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS") ?? true

    func validate() throws {
        try Environment.checkBools(["NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS"])
    }

    func run() async throws {
        ProcessExecutor.install()
        let urls = try listen.split(separator: ",").map { try listenURL(String($0)) }
        let period = try Environment.duration(expirePeriod, flag: "expire-period", variable: "NSM_EXPIRE_PERIOD")
        let logger = ComponentLogging.logger("nsm.registry")
        // Before anything that makes metrics: handles made earlier would stay with the no-op backend.
        let telemetry = try ComponentTelemetry(logger: logger, name: "nsm-registry")
        let identity = try ProcessIdentity.fromEnvironment(logger: logger)
        let registry: RegistryServer
        var kubernetes: (store: KubernetesRegistry, client: KubernetesClient)?
        switch store {
        case "memory":
            var configuration = RegistryServer.Configuration(listen: urls, expirePeriod: period, identity: identity.source)
            configuration.checksRegistrantAddress = checkRegistrantAddress
            registry = RegistryServer(configuration, logger: logger)
        case "kubernetes":
            let connection: KubernetesConnection
            do { connection = try KubernetesConnection.find(kubeconfig: kubeconfig) } catch { throw ValidationError("--store kubernetes: \(error)") }
            let client = try KubernetesClient(connection: connection, queriesPerSecond: kubeletQPS, burst: Int(kubeletQPS * 2))
            let namespace = self.namespace ?? connection.namespace
            let store = KubernetesRegistry(client: client, namespace: namespace, expirePeriod: period, logger: logger)
            printFlushed("registry store: kubernetes, API server \(connection.server) (\(connection.source)), namespace \(namespace)")
            registry = RegistryServer(listen: urls, view: store.view, registries: store.grpcServices(checksRegistrantAddress: checkRegistrantAddress, identity: identity.source), storeServices: [store], identity: identity.source, logger: logger)
            kubernetes = (store, client)
        default:
            throw ValidationError("--store/NSM_REGISTRY_STORE \"\(store)\": expected memory or kubernetes")
        }
        try await identity.ready()
        let group = ComponentServiceGroup.make(telemetry.around(identity.services + registry.services), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await telemetry.announce()
            // Ready once what it answers from is complete: the store's objects listed.
            try await kubernetes?.store.synced()
            var urls: [String] = []
            for server in registry.servers { urls.append("\(try await server.listening())") }
            for url in urls { printFlushed("registry listening on \(url)") }
            ServiceNotification.ready(status: "registry listening on \(urls.joined(separator: ", "))")
            registry.health.markReady()
            telemetry.markReady()
            try await tasks.waitForAll()
        }
        try await kubernetes?.client.shutdown()
    }
}
