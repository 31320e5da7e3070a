import Foundation
import Glibc
public import IPAddressing
public import Netlink
import NetlinkWire

/// A Kubernetes-free cluster on one machine: nodes are network namespaces joined by a bridge
/// (in a "fabric" namespace that also hosts the registry), and each node runs `nsm node` inside
/// its namespace. Pods and endpoints are namespaces too. Nothing touches the machine's own
/// namespace; everything is named `<prefix>-…` and removed by ``tearDown()``.
public final class LocalCluster: @unchecked Sendable {
    // @unchecked: mutated only by the task that drives the cluster (demo, run, tests).
    public let prefix: String
    public let directory: String
    public let executable: String
    public let nodeCount: Int
    public internal(set) var namespaces: [String: NetworkNamespace] = [:]
    public internal(set) var processes: [String: ManagedProcess] = [:]

    public static let subnet = "192.168.240"
    public var registryTCP: String { "tcp://\(Self.subnet).254:5002" }
    public var registryUnix: String { "unix://\(directory)/registry.sock" }
    public func nodeAddress(_ node: Int) -> IPAddress { IPAddress("\(Self.subnet).\(node + 1)")! }
    public func managerURL(_ node: Int) -> String { "unix://\(directory)/node\(node)/nsm.io.sock" }
    public var excludedPrefixesFile: String { "\(directory)/excluded_prefixes.yaml" }
    /// The cluster's SPIFFE Workload API (`nsm spiffe-agent`): every process gets its SVID there.
    public var agentSocket: String { Self.agentSocket(directory: directory) }
    public static func agentSocket(directory: String) -> String { "\(directory)/spiffe-agent.sock" }
    public static let trustDomain = "local.nsm"
    /// How long the agent's SVIDs live (`NSM_LOCAL_SVID_LIFETIME`, default 1h; rotated at half).
    public var svidLifetime: String { ProcessInfo.processInfo.environment["NSM_LOCAL_SVID_LIFETIME"] ?? "1h" }
    /// Mutual TLS with identities from the cluster's agent (the default); `false` runs every
    /// component with `NSM_INSECURE=true` (the benchmark's plaintext comparison).
    public var secure = true
    /// Prometheus metrics on in every component (`PROMETHEUS=true`, each on a port of its own
    /// choosing): the benchmark's metrics comparison.
    public var metrics = false
    /// Tracing on in every component (`TELEMETRY=opentelemetry`), each exporting to an
    /// `nsm bench otlp-sink` on its namespace's loopback: the benchmark's tracing comparison.
    public var tracing = false
    /// Where traced components export: the sink in their own namespace.
    public static let tracingEndpoint = "127.0.0.1:4317"
    /// What every component process of the cluster gets in its environment.
    public var componentEnvironment: [String: String] {
        var environment = secure ? ["SPIFFE_ENDPOINT_SOCKET": "unix://\(agentSocket)"] : ["NSM_INSECURE": "true"]
        if metrics {
            environment["PROMETHEUS"] = "true"
            environment["NSM_PROMETHEUS_PORT"] = "0"
        }
        if tracing {
            environment["TELEMETRY"] = "opentelemetry"
            environment["NSM_OPENTELEMETRY_ENDPOINT"] = Self.tracingEndpoint
        }
        return environment
    }

    /// With tracing on, the collector of namespace `role`'s components (started once per namespace).
    func startSink(in role: String) async throws {
        guard tracing, processes["otlp-sink-\(role)"] == nil else { return }
        let sink = try ManagedProcess(
            name: "otlp-sink-\(role)", executable: executable, arguments: ["bench", "otlp-sink", "--port", "4317"],
            namespace: namespaces[role], logDirectory: directory)
        processes["otlp-sink-\(role)"] = sink
        try await sink.ready()
    }

    // The cluster network of pods, as in a kind cluster: pods on 10.244.0.0/16 (their eth0 on the
    // fabric bridge), services on 10.96.0.0/12, the cluster DNS at 10.96.0.10 (in the fabric).
    public static let podGateway = IPPrefix("10.244.0.1/16")!
    public static let serviceCIDR = IPPrefix("10.96.0.0/12")!
    public static let clusterDNS = IPAddress("10.96.0.10")!
    public static let clusterDomain = "cluster.local"
    /// What kubelet writes into a pod in namespace `default`.
    public static let podResolvConf = """
        nameserver \(clusterDNS)
        search default.svc.\(clusterDomain) svc.\(clusterDomain) \(clusterDomain)
        options ndots:5

        """
    /// Records of the cluster DNS (relative to cluster.local).
    public var clusterRecords: [String] {
        ["registry.nsm-system.svc=\(Self.subnet).254", "kubernetes.default.svc=10.96.0.1"]
            + (0..<nodeCount).map { "node\($0).nodes=\(nodeAddress($0))" }
    }

    public init(prefix: String, nodes: Int, executable: String = currentExecutable(), directory: String? = nil) {
        self.prefix = prefix
        self.nodeCount = nodes
        self.executable = executable
        self.directory = directory ?? "/run/\(prefix)"
    }

    public func namespaceName(_ role: String) -> String { "\(prefix)-\(role)" }

    /// Creates a namespace for `role` (loopback up).
    @discardableResult
    public func createNamespace(_ role: String) throws -> NetworkNamespace {
        let namespace = try NetworkNamespace.create(named: namespaceName(role))
        namespaces[role] = namespace
        try NetlinkHandle(namespace: namespace).setUp(index: 1)
        return namespace
    }

    /// The fabric bridge's MAC (locally administered; each cluster's bridge is in its own namespace).
    static let bridgeMAC: [UInt8] = [0x02, 0x6e, 0x73, 0x6d, 0x00, 0x01]

    /// Builds the fabric (bridge), the node namespaces with their underlay addresses, and
    /// writes the cluster's excluded prefixes.
    public func buildNetwork(excludedPrefixes: [String] = ["10.96.0.0/12", "10.244.0.0/16"]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ("Prefixes:\n" + excludedPrefixes.map { "- \($0)\n" }.joined()).write(toFile: excludedPrefixesFile, atomically: true, encoding: .utf8)
        let fabric = try createNamespace("fabric")
        let fabricHandle = try NetlinkHandle(namespace: fabric)
        // A fixed MAC: a bridge that has none takes the lowest of its ports' MACs, so every pod
        // port added or removed could change it, and the nodes' ARP entries for the fabric's
        // addresses (the registry) went stale — TCP to the registry then stalled for seconds.
        try fabricHandle.addBridge(name: "br0", options: LinkOptions(up: true, hardwareAddress: Self.bridgeMAC))
        let bridge = try fabricHandle.link(named: "br0")
        try fabricHandle.addAddress(IPPrefix("\(Self.subnet).254/24")!, index: bridge.index)
        try fabricHandle.addAddress(Self.podGateway, index: bridge.index)
        try fabricHandle.addAddress(Self.clusterDNS.hostPrefix, index: 1)
        for node in 0..<nodeCount {
            let namespace = try createNamespace("node\(node)")
            try FileManager.default.createDirectory(atPath: "\(directory)/node\(node)", withIntermediateDirectories: true)
            try fabricHandle.addVeth(name: "n\(node)", peer: VethPeer(name: "eth0", namespace: namespace),
                                     options: LinkOptions(up: true, masterIndex: bridge.index))
            let handle = try NetlinkHandle(namespace: namespace)
            let eth0 = try handle.link(named: "eth0")
            try handle.execute(batch: [
                .addAddress(IPPrefix(address: nodeAddress(node), length: 24)!, index: eth0.index), .setUp(index: eth0.index),
            ])
        }
    }

    /// Starts the SPIFFE agent and the registry in the fabric namespace and `nsm node` in each
    /// node namespace: every gRPC hop with mutual TLS, identities from the agent.
    public func startControlPlane() async throws {
        if secure { try await startAgent() }
        try await startRegistry()
        let dns = try ManagedProcess(
            name: "cluster-dns", executable: executable,
            arguments: ["dns", "serve", "--listen", "\(Self.clusterDNS):53", "--zone", Self.clusterDomain] + clusterRecords.flatMap { ["--record", $0] },
            namespace: namespaces["fabric"], logDirectory: directory)
        processes["cluster-dns"] = dns
        try await dns.ready()
        for node in 0..<nodeCount { try await startNode(node) }
    }

    /// `nsm registry` in the fabric namespace, on the cluster's TCP and unix addresses; returns
    /// once it is ready (also after a crash: it starts empty, its registrants register again).
    public func startRegistry() async throws {
        try await startSink(in: "fabric")
        let registry = try ManagedProcess(
            name: "registry", executable: executable,
            arguments: ["registry", "--listen-on", "\(registryTCP),\(registryUnix)"], namespace: namespaces["fabric"], logDirectory: directory,
            environment: componentEnvironment)
        processes["registry"] = registry
        try await registry.ready()
    }

    /// `nsm spiffe-agent` in the fabric namespace: the cluster's Workload API.
    func startAgent() async throws {
        let agent = try ManagedProcess(
            name: "spiffe-agent", executable: executable,
            arguments: [
                "spiffe-agent", "--listen-on", "unix://\(agentSocket)", "--trust-domain", Self.trustDomain,
                "--cluster", String(prefix.dropFirst(prefix.hasPrefix("nsm-") ? 4 : 0)), "--namespace-prefix", prefix,
                "--svid-lifetime", svidLifetime,
            ],
            namespace: namespaces["fabric"], logDirectory: directory)
        processes["spiffe-agent"] = agent
        try await agent.ready()
    }

    public func startNode(_ node: Int) async throws {
        try await startSink(in: "node\(node)")
        let process = try ManagedProcess(
            name: "node\(node)", executable: executable,
            arguments: [
                "node", "--name", "nsmgr-node\(node)", "--node-name", "node\(node)",
                "--listen-on", "\(managerURL(node)),tcp://\(nodeAddress(node)):5001", "--registry-url", registryTCP,
                "--tunnel-ip", "\(nodeAddress(node))", "--excluded-prefixes-file", excludedPrefixesFile,
            ],
            namespace: namespaces["node\(node)"], logDirectory: directory, environment: componentEnvironment)
        processes["node\(node)"] = process
        // Ready once the forwarder is in the registry, not only listening: requests need that.
        try await process.ready()
    }

    /// Starts `nsm endpoint` in a new namespace for it, registered through `node`'s manager.
    @discardableResult
    public func startEndpoint(
        _ name: String, node: Int, services: [String], labels: [String: String], cidr: String, extra: [String] = []
    ) async throws -> ManagedProcess {
        let namespace = try namespaces[name] ?? createNamespace(name)
        try await startSink(in: name)
        let labelText = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let process = try ManagedProcess(
            name: name, executable: executable,
            arguments: [
                "endpoint", "--name", name, "--service-names", services.joined(separator: ","), "--labels", labelText,
                "--cidr-prefix", cidr, "--connect-to", managerURL(node), "--listen-on", "unix://\(directory)/node\(node)/\(name).sock",
            ] + extra,
            namespace: namespace, logDirectory: directory, environment: componentEnvironment)
        processes[name] = process
        // Ready once registered: a service registered right after (with its matches) is then not
        // overwritten by the endpoint's own first registration.
        try await process.ready()
        return process
    }

    /// Stops every process (SIGTERM, then SIGKILL), deletes the namespaces and the directory.
    public func tearDown() async {
        await stopProcesses()
        processes = [:]
        for name in NetworkNamespace.names() where name.hasPrefix(prefix + "-") {
            try? NetworkNamespace.delete(named: name)
        }
        namespaces = [:]
        Self.removePodFiles(prefix: prefix)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops every process (SIGTERM, then SIGKILL after 5 s), endpoints first, the agent last.
    public func stopProcesses() async {
        for (_, process) in processes.sorted(by: { order($0.key) < order($1.key) }) { await process.stop(grace: .seconds(5)) }
    }

    /// Removes `/etc/netns/<prefix>-*` (the pods' resolv.conf files).
    static func removePodFiles(prefix: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: LocalPod.etcDirectory)) ?? [] where name.hasPrefix(prefix + "-") {
            try? FileManager.default.removeItem(atPath: "\(LocalPod.etcDirectory)/\(name)")
        }
    }

    private func order(_ name: String) -> Int {
        if name.hasPrefix("nse") { return 0 }
        if name.hasPrefix("node") { return 1 }
        if name == "spiffe-agent" { return 3 }  // last: the others may renew their SVIDs until they stop
        if name.hasPrefix("otlp-sink") { return 4 }  // after everything that exports its last spans to them
        return 2
    }

    /// The file that records a persistent cluster's processes (`nsm cluster up`).
    public var stateFile: String { "\(directory)/cluster.json" }

    /// Records the running processes so another `nsm` invocation can stop them.
    public func saveState() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(ClusterRecord(nodes: nodeCount, pids: processes.mapValues { Int($0.pid) })).write(to: URL(fileURLWithPath: stateFile))
    }

    /// Stops a persistent cluster started by another invocation: SIGTERM to its recorded
    /// processes (SIGKILL after 5 s), then deletes its namespaces and directory.
    public static func stopRecorded(prefix: String, directory: String) async -> [String] {
        var stopped: [String] = []
        if let data = FileManager.default.contents(atPath: "\(directory)/cluster.json"),
           let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let pids = state["pids"] as? [String: Int] {
            for (name, pid) in pids where kill(Int32(pid), 0) == 0 {
                kill(Int32(pid), SIGTERM)
                stopped.append(name)
            }
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline, pids.values.contains(where: { kill(Int32($0), 0) == 0 }) { try? await Task.sleep(for: .milliseconds(50)) }
            for pid in pids.values where kill(Int32(pid), 0) == 0 { kill(Int32(pid), SIGKILL) }
        }
        for name in NetworkNamespace.names() where name.hasPrefix(prefix + "-") { try? NetworkNamespace.delete(named: name) }
        removePodFiles(prefix: prefix)
        try? FileManager.default.removeItem(atPath: directory)
        return stopped
    }

    /// Adopts processes already recorded (for adding endpoints to a running cluster).
    public func adoptNamespaces() throws {
        for name in NetworkNamespace.names() where name.hasPrefix(prefix + "-") {
            namespaces[String(name.dropFirst(prefix.count + 1))] = try NetworkNamespace.open(named: name)
        }
    }

    /// What is left of the cluster on the machine (namespaces, processes, the directory).
    public func leftovers() -> [String] {
        var found = NetworkNamespace.names().filter { $0.hasPrefix(prefix + "-") }.map { "namespace \($0)" }
        found += processes.values.filter(\.isRunning).map { "process \($0.name) (pid \($0.pid))" }
        if FileManager.default.fileExists(atPath: directory) { found.append("directory \(directory)") }
        found += ((try? FileManager.default.contentsOfDirectory(atPath: LocalPod.etcDirectory)) ?? []).filter { $0.hasPrefix(prefix + "-") }
            .map { "directory \(LocalPod.etcDirectory)/\($0)" }
        return found
    }
}
