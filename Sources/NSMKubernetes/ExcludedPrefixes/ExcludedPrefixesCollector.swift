import Metrics
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
        /// Where the list goes (`NSM_PREFIXES_OUTPUT_TYPE`).
        public enum Output: Sendable, Equatable {
            /// A file (`NSM_EXCLUDED_PREFIXES_FILE`), written atomically.
            case file(String)
            /// A ConfigMap's key (upstream's `config-map` output: `nsm-config`, key
            /// `excluded_prefixes_output.yaml`, in the collector's namespace), mounted where the manager reads.
            case configMap(namespace: String, name: String, key: String)
        }

        /// Always excluded (`NSM_EXCLUDED_PREFIXES`).
        public var prefixes: [IPPrefix]
        public var output: Output
        public var outputFile: String { if case .file(let path) = output { path } else { "" } }
        /// The user's ConfigMap (`NSM_CONFIG_MAP_NAMESPACE`, `_NAME`, `_KEY`).
        public var userConfigMap: (namespace: String, name: String, key: String)

        public init(prefixes: [IPPrefix] = [], outputFile: String = "/var/lib/networkservicemesh/config/excluded_prefixes.yaml",
                    userConfigMap: (namespace: String, name: String, key: String) = ("default", "excluded-prefixes-config", "excluded_prefixes_input.yaml")) {
            self.init(prefixes: prefixes, output: .file(outputFile), userConfigMap: userConfigMap)
        }

        public init(prefixes: [IPPrefix], output: Output, userConfigMap: (namespace: String, name: String, key: String)) {
            self.prefixes = prefixes
            self.output = output
            self.userConfigMap = userConfigMap
        }
    }

    public let configuration: Configuration
    let client: KubernetesClient
    let logger: Logger
    private let written = Mutex<[IPPrefix]?>(nil)
    private let discovered = Mutex<[IPPrefix]>([])
    /// Set once every source is listed and the service range asked for: no list is written before.
    private let complete = Mutex(false)
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
                self.complete.withLock { $0 = true }
                changed.yield()
            }
            for await _ in changes.cancelOnGracefulShutdown() {
                guard complete.withLock({ $0 }) else { continue }
                var reading = ClusterPrefixSources.Reading(prefixes: configuration.prefixes)
                let parts = kubeadm.objects.map(ClusterPrefixSources.kubeadm) + nodes.objects.map(ClusterPrefixSources.node)
                    + services.objects.map(ClusterPrefixSources.service) + (serviceCIDRs?.objects ?? []).map(ClusterPrefixSources.serviceCIDR)
                    + userMap.objects.map { ClusterPrefixSources.userConfigMap($0, key: user.key) }
                for part in parts {
                    reading.prefixes += part.prefixes
                    reading.problems += part.problems
                }
                for problem in reading.problems { logger.warning("ignored", metadata: ["problem": "\(problem)"]) }
                await write(IPPrefix.merged(reading.prefixes + discovered.withLock { $0 }))
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

    /// Writes `prefixes` where configured, when they changed.
    func write(_ prefixes: [IPPrefix]) async {
        guard written.withLock({ $0 }) != prefixes else { return }
        let text = prefixes.isEmpty ? "Prefixes: []\n" : "Prefixes:\n" + prefixes.map { "- \($0)\n" }.joined()
        let target: String
        do {
            switch configuration.output {
            case .file(let path):
                try Self.writeAtomically(text, to: path)
                target = path
            case .configMap(let namespace, let name, let key):
                try await writeConfigMap(text, namespace: namespace, name: name, key: key)
                target = "configmap \(namespace)/\(name) key \(key)"
            }
        } catch {
            Counter(label: "nsm_excluded_prefixes_writes_total", dimensions: [("result", "error")]).increment()
            logger.error("cannot write the excluded prefixes", metadata: ["output": "\(configuration.output)", "error": "\(error)"])
            return
        }
        written.withLock { $0 = prefixes }
        Counter(label: "nsm_excluded_prefixes_writes_total", dimensions: [("result", "ok")]).increment()
        Gauge(label: "nsm_excluded_prefixes").record(prefixes.count)
        logger.info("excluded prefixes written", metadata: ["to": "\(target)", "prefixes": "\(prefixes.map(\.description).joined(separator: ", "))"])
        firstWrite.resolve(prefixes)
    }

    /// A temporary file renamed over `path`: a reader sees the old list or the new one, never half.
    static func writeAtomically(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory.isEmpty ? "." : directory)/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    /// Sets `key` of the ConfigMap (a merge patch), creating the ConfigMap when it is not there.
    func writeConfigMap(_ text: String, namespace: String, name: String, key: String) async throws {
        let patch = try JSONEncoder().encode(["data": [key: text]])
        do {
            _ = try await client.patch(UnstructuredObject.self, .configMaps, namespace: namespace, name: name, patch: patch, as: .merge)
        } catch let error as KubernetesError where error.isNotFound {
            let map = UnstructuredObject(apiVersion: "v1", kind: "ConfigMap", metadata: ObjectMeta(name: name, namespace: namespace),
                                         fields: ["data": .object([key: .string(text)])])
            _ = try await client.create(map, in: .configMaps, namespace: namespace)
        }
    }
}
