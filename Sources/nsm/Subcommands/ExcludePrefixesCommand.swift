import ArgumentParser
import Foundation
import IPAddressing
import Kubernetes
import Logging
import NSMKubernetes
import Readiness
import ServiceLifecycle

/// `nsm exclude-prefixes`: the cluster's prefixes to the file `nsm node` reads (a sidecar of the
/// node DaemonSet, as upstream's cmd-exclude-prefixes-k8s).
struct ExcludePrefixesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exclude-prefixes",
        abstract: "Follow the prefixes the Kubernetes cluster uses and write them for the node's manager.",
        discussion: """
            Sources: NSM_EXCLUDED_PREFIXES, kube-system/kubeadm-config, every Node's pod CIDRs, every Service's cluster IPs, \
            ServiceCIDR objects, the ConfigMap NSM_CONFIG_MAP_NAMESPACE/NSM_CONFIG_MAP_NAME (key NSM_CONFIG_MAP_KEY, YAML \
            'prefixes: [...]'); the service range from the API server when none of these names it. Needs get/list/watch on \
            nodes, services, configmaps and servicecidrs, and create on services (a dry run). Reaches the API server as \
            client-go does: in a pod its service account, else --kubeconfig, KUBECONFIG, ~/.kube/config.
            \(ComponentTelemetry.help) Beside the node on the host network, give it another port (NSM_PROMETHEUS_PORT).
            """
    )

    @Option(help: "Prefixes always excluded, comma-separated (NSM_EXCLUDED_PREFIXES).")
    var excludedPrefixes: String = Environment.string("NSM_EXCLUDED_PREFIXES") ?? ""
    @Option(help: "The file to write, read by nsm node (NSM_EXCLUDED_PREFIXES_FILE).")
    var outputFile: String = Environment.string("NSM_EXCLUDED_PREFIXES_FILE") ?? "/var/lib/networkservicemesh/config/excluded_prefixes.yaml"
    @Option(help: "Where the output goes: file or config-map (NSM_PREFIXES_OUTPUT_TYPE).")
    var outputType: String = Environment.string("NSM_PREFIXES_OUTPUT_TYPE") ?? "file"
    @Option(help: "The user's ConfigMap namespace (NSM_CONFIG_MAP_NAMESPACE).")
    var configMapNamespace: String = Environment.string("NSM_CONFIG_MAP_NAMESPACE") ?? "default"
    @Option(help: "The user's ConfigMap name (NSM_CONFIG_MAP_NAME).")
    var configMapName: String = Environment.string("NSM_CONFIG_MAP_NAME") ?? "excluded-prefixes-config"
    @Option(help: "The key holding the YAML in the user's ConfigMap (NSM_CONFIG_MAP_KEY).")
    var configMapKey: String = Environment.string("NSM_CONFIG_MAP_KEY") ?? "excluded_prefixes_input.yaml"
    @Option(help: "A kubeconfig (KUBECONFIG style list); in a pod the service account is used without it.")
    var kubeconfig: String?
    @Option(help: "Calls per second to the API server (NSM_KUBELET_QPS).")
    var kubeletQPS: Double = Double(Environment.string("NSM_KUBELET_QPS") ?? "") ?? 50

    func run() async throws {
        guard ["file", "config-map"].contains(outputType) else {
            throw ValidationError("--output-type/NSM_PREFIXES_OUTPUT_TYPE \"\(outputType)\": expected file or config-map")
        }
        var prefixes: [IPPrefix] = []
        for item in excludedPrefixes.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let prefix = IPPrefix(item, requireLength: false) else {
                throw ValidationError("--excluded-prefixes/NSM_EXCLUDED_PREFIXES: \"\(item)\" is not a CIDR prefix such as 10.96.0.0/12")
            }
            prefixes.append(prefix.network)
        }
        let connection: KubernetesConnection
        do { connection = try KubernetesConnection.find(kubeconfig: kubeconfig) } catch { throw ValidationError("\(error)") }
        let logger = ComponentLogging.logger("nsm.exclude-prefixes")
        let telemetry = try ComponentTelemetry(logger: logger, name: "nsm-exclude-prefixes")
        let output: ExcludedPrefixesCollector.Configuration.Output = outputType == "file"
            ? .file(outputFile) : .configMap(namespace: connection.namespace, name: "nsm-config", key: "excluded_prefixes_output.yaml")
        printFlushed("exclude-prefixes: API server \(connection.server) (\(connection.source)); writing \(output)")
        let client = try KubernetesClient(connection: connection, queriesPerSecond: kubeletQPS, burst: Int(kubeletQPS * 2))
        let collector = ExcludedPrefixesCollector(.init(
            prefixes: prefixes, output: output, userConfigMap: (configMapNamespace, configMapName, configMapKey)), client: client, logger: logger)
        let group = ComponentServiceGroup.make(telemetry.around([collector]), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await telemetry.announce()
            let first = try await collector.firstWrite.wait()
            ServiceNotification.ready(status: "\(first.count) prefixes written")
            telemetry.markReady()
            try await tasks.waitForAll()
        }
        try await client.shutdown()
    }
}
