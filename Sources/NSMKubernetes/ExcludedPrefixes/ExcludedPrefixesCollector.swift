import Foundation
public import IPAddressing
public import Kubernetes
public import Logging
public import Readiness
public import ServiceLifecycle
import Synchronization

/// `nsm exclude-prefixes`: follows the prefixes the cluster uses and writes them, merged and
/// de-overlapped, to the file the node's manager reads (upstream's `Prefixes:` YAML), atomically
/// and only when the set changes. Sources, as upstream's cmd-exclude-prefixes-k8s and more: the
/// configured prefixes, `kube-system/kubeadm-config`, every Node's pod CIDRs, every Service's
/// cluster IPs, `ServiceCIDR` objects where the cluster serves them, the user's ConfigMap; and
/// when none of these names the service range, the range the API server states when asked (in a
/// dry run) to allocate an address outside it.
public final class ExcludedPrefixesCollector: Service, Sendable {
    public struct Configuration: Sendable {
        /// Always excluded (`NSM_EXCLUDED_PREFIXES`).
        public var prefixes: [IPPrefix]
        /// Where to write (`NSM_OUTPUT_FILE_PATH`).
        public var outputFile: String
        /// The user's ConfigMap (`NSM_CONFIG_MAP_NAMESPACE`, `_NAME`, `_KEY`).
        public var userConfigMap: (namespace: String, name: String, key: String)

        public init(prefixes: [IPPrefix] = [], outputFile: String = "/var/lib/networkservicemesh/config/excluded_prefixes.yaml",
                    userConfigMap: (namespace: String, name: String, key: String) = ("default", "excluded-prefixes-config", "excluded_prefixes_input.yaml")) {
            self.prefixes = prefixes
            self.outputFile = outputFile
            self.userConfigMap = userConfigMap
        }
    }

    public let configuration: Configuration
    let client: KubernetesClient
    let logger: Logger
    private let written = Mutex<[IPPrefix]?>(nil)
    private let discovered = Mutex<[IPPrefix]>([])
    /// Resolved with the first list written.
    public let firstWrite = ReadySignal<[IPPrefix]>()

    public init(_ configuration: Configuration, client: KubernetesClient, logger: Logger = Logger(label: "nsm.exclude-prefixes")) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    /// The list last written.
    public var current: [IPPrefix]? { written.withLock { $0 } }

    public func run() async throws {
        let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let notify: @Sendable (Informer<UnstructuredObject>.Change) -> Void = { _ in changed.yield() }
        let user = configuration.userConfigMap
        let nodes = Informer<UnstructuredObject>(client: client, resource: .nodes, logger: logger, onChange: notify)
        let services = Informer<UnstructuredObject>(client: client, resource: .services, logger: logger, onChange: notify)
        let kubeadm = Informer<UnstructuredObject>(
            client: client, resource: .configMaps, namespace: "kube-system", selection: .init(fieldSelector: "metadata.name=kubeadm-config"),
            logger: logger, onChange: notify)
        let userMap = Informer<UnstructuredObject>(
            client: client, resource: .configMaps, namespace: user.namespace, selection: .init(fieldSelector: "metadata.name=\(user.name)"),
            logger: logger, onChange: notify)
        // ServiceCIDRs are GA in 1.33; older API servers answer 404.
        let serviceCIDRs: Informer<UnstructuredObject>?
        do {
            _ = try await client.list(UnstructuredObject.self, .serviceCIDRs, limit: 1)
            serviceCIDRs = Informer(client: client, resource: .serviceCIDRs, logger: logger, onChange: notify)
        } catch let error as KubernetesError where error.isNotFound {
            serviceCIDRs = nil
        }
        let informers = [nodes, services, kubeadm, userMap] + (serviceCIDRs.map { [$0] } ?? [])
        try await withThrowingDiscardingTaskGroup { group in
            for informer in informers { group.addTask { try await informer.run() } }
            group.addTask {
                for informer in informers { try await informer.synced.wait() }
                await self.discoverServiceRange(kubeadm: kubeadm.objects, serviceCIDRs: serviceCIDRs?.objects ?? [])
                changed.yield()
            }
            for await _ in changes.cancelOnGracefulShutdown() {
                guard informers.allSatisfy({ $0.synced.value != nil }) else { continue }
                var reading = ClusterPrefixSources.Reading(prefixes: configuration.prefixes)
                let parts = kubeadm.objects.map(ClusterPrefixSources.kubeadm) + nodes.objects.map(ClusterPrefixSources.node)
                    + services.objects.map(ClusterPrefixSources.service) + (serviceCIDRs?.objects ?? []).map(ClusterPrefixSources.serviceCIDR)
                    + userMap.objects.map { ClusterPrefixSources.userConfigMap($0, key: user.key) }
                for part in parts {
                    reading.prefixes += part.prefixes
                    reading.problems += part.problems
                }
                for problem in reading.problems { logger.warning("ignored", metadata: ["problem": "\(problem)"]) }
                write(IPPrefix.merged(reading.prefixes + discovered.withLock { $0 }))
            }
            group.cancelAll()
        }
    }

    /// When neither kubeadm's configuration nor a ServiceCIDR names the service range: asks the API
    /// server, in a dry run, for a Service with an address outside any likely range; its refusal
    /// states the range.
    func discoverServiceRange(kubeadm: [UnstructuredObject], serviceCIDRs: [UnstructuredObject]) async {
        let kubeadmNamesIt = kubeadm.contains { object in
            (object.fields["data"]?["ClusterConfiguration"]?.string ?? "").contains("serviceSubnet")
        }
        guard !kubeadmNamesIt, serviceCIDRs.isEmpty else { return }
        let probe = UnstructuredObject(
            apiVersion: "v1", kind: "Service", metadata: ObjectMeta(name: "nsm-service-range-probe", namespace: "default"),
            fields: ["spec": .object(["clusterIP": .string("1.1.1.1"), "ports": .array([.object(["port": .number(80)])])])])
        do {
            _ = try await client.create(probe, in: .services, namespace: "default", dryRun: true)
            logger.warning("the API server accepted 1.1.1.1 as a cluster IP: the service range is unknown; give it in NSM_EXCLUDED_PREFIXES")
        } catch let error as KubernetesError {
            let range = ClusterPrefixSources.serviceRange(fromRefusal: error.status.message ?? "")
            if range.isEmpty {
                logger.warning("the service range could not be discovered; give it in NSM_EXCLUDED_PREFIXES", metadata: ["answer": "\(error)"])
            } else {
                logger.info("service range discovered from the API server", metadata: ["range": "\(range)"])
                discovered.withLock { $0 = range }
            }
        } catch {
            logger.warning("the service range could not be discovered", metadata: ["error": "\(error)"])
        }
    }

    /// Writes `prefixes` atomically (a temporary file renamed over the output) when they changed.
    func write(_ prefixes: [IPPrefix]) {
        guard written.withLock({ $0 }) != prefixes else { return }
        let text = prefixes.isEmpty ? "Prefixes: []\n" : "Prefixes:\n" + prefixes.map { "- \($0)\n" }.joined()
        let path = configuration.outputFile
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory.isEmpty ? "." : directory)/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        do {
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        } catch {
            logger.error("cannot write the excluded prefixes", metadata: ["file": "\(path)", "error": "\(error)"])
            return
        }
        written.withLock { $0 = prefixes }
        logger.info("excluded prefixes written", metadata: ["file": "\(path)", "prefixes": "\(prefixes.map(\.description).joined(separator: ", "))"])
        firstWrite.resolve(prefixes)
    }
}
