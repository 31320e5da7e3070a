import Foundation
import Glibc
import IPAddressing
import Logging
import Netlink
import NSMAnnotation
import NSMAPI
import NSMBenchmarks
import NSMCore
import NSMRuntime
import SPIFFE
import ServiceLifecycle

/// How long pods are without their service after a failure, through the real processes of a
/// local two-node cluster: N pods on node 0, each with a client that watches its data path
/// (liveness check on, upstream's 200 ms / 1 s), connected to service `heal`, which two
/// endpoints on node 1 serve (so every connection crosses the VXLAN underlay). Every pod probes
/// its endpoint's address every 10 ms; for each fault, per pod, the time from the fault (or its
/// repair) to the first probe that gets through again, and the probes lost. Then every
/// connection is closed and what is left is counted.
public struct HealBenchmark: Sendable {
    public struct Outcome: Sendable {
        public var fault: HealFault
        /// Pods whose data path the fault cut (or, for restarts, every pod).
        public var pods: Int
        /// Per affected pod, milliseconds from the fault (for the underlay: from its repair) to
        /// the first probe answered that was sent after it.
        public var back: Percentiles
        /// Pods with no probe through before the deadline.
        public var notBack: Int
        /// Per affected pod, probes lost.
        public var lost: Percentiles
        /// Connections that moved to another endpoint.
        public var reselected: Int
    }

    public struct Result: Sendable {
        public var count: Int
        public var outcomes: [Outcome]
        /// What outlived the pods' connections (interfaces, addresses, routes, endpoint and
        /// manager connections, registry entries), then the cluster (namespaces, processes).
        public var leftovers: [String]
    }

    public var sizes: [Int]
    public var faults: [HealFault]
    public var probeInterval: Duration = .milliseconds(10)
    /// How long the underlay stays blackholed.
    public var blackhole: Duration = .seconds(3)
    /// How long pods get to have their service back after each fault.
    public var deadline: Duration = .seconds(30)
    /// Where to copy the components' logs before each cluster is removed (`nil`: nowhere).
    public var keepLogs: String?
    public var log: @Sendable (String) -> Void

    public init(sizes: [Int], faults: [HealFault] = HealFault.allCases, log: @escaping @Sendable (String) -> Void) {
        self.sizes = sizes
        self.faults = faults
        self.log = log
    }

    /// The endpoints serving `heal`, both on node 1.
    static let endpoints = [(name: "nse-a", cidr: "172.30.0.0/16"), (name: "nse-b", cidr: "172.31.0.0/16")]
    static let service = "heal"

    public func run() async throws -> [Result] {
        var results: [Result] = []
        for size in sizes {
            let cluster = LocalCluster(prefix: "nsmheal\(getpid())-\(size)", nodes: 2)
            var result: Result
            do {
                result = try await measure(size, cluster: cluster)
            } catch {
                await cluster.stopProcesses()
                if let keepLogs { copyLogs(of: cluster, to: "\(keepLogs)/N\(size)") }
                await cluster.tearDown()
                throw error
            }
            await cluster.stopProcesses()
            if let keepLogs { copyLogs(of: cluster, to: "\(keepLogs)/N\(size)") }
            await cluster.tearDown()
            result.leftovers += cluster.leftovers()
            results.append(result)
        }
        return results
    }

    func measure(_ size: Int, cluster: LocalCluster) async throws -> Result {
        log("N=\(size): starting a two-node cluster, endpoints \(Self.endpoints.map(\.name).joined(separator: " and ")) on node 1")
        try cluster.buildNetwork()
        try await cluster.startControlPlane()
        for endpoint in Self.endpoints {
            try await cluster.startEndpoint(endpoint.name, node: 1, services: [Self.service], labels: [:], cidr: endpoint.cidr)
        }
        let pods = try (0..<size).map { try cluster.createNamespace("pod\($0)") }
        let identity = try WorkloadAPISource(endpoint: cluster.agentSocket)
        try await identity.prime(timeout: .seconds(30))
        var logger = Logger(label: "nsm.bench")
        // The pods' clients, on standard error: quiet unless logs are kept (then NSM_LOG_LEVEL, or info).
        logger.logLevel = keepLogs == nil ? .critical : ProcessInfo.processInfo.environment["NSM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let pools = pods.map { GRPCClientPool(passingNamespace: $0.path, identity: identity) }
        let inspector = GRPCClientPool(identity: identity)
        let manager = try NSMURL(cluster.managerURL(0))
        let clients = try pods.indices.map { index in
            var configuration = NSMClient.Configuration(
                name: "pod\(index)", managerURL: manager, annotation: try NetworkServiceAnnotation.parse("kernel://\(Self.service)/nsm-0"),
                namespaceURL: pods[index].identity.url, requestTimeout: .seconds(10))
            configuration.liveness = LivenessCheck()
            return NSMClient(configuration, pool: pools[index], logger: logger)
        }
        let outer = ServiceGroup(configuration: .init(services: [.init(service: identity), .init(service: inspector)], logger: logger))
        let inner = ServiceGroup(configuration: .init(services: (pools as [any Service] + clients).map { .init(service: $0) }, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await outer.run() }
            defer { tasks.cancelAll() }
            let registered = try await Self.registryNames(cluster, inspector)
            let outcomes = try await withThrowingTaskGroup(of: Void.self) { podTasks in
                podTasks.addTask { try await inner.run() }
                log("N=\(size): connecting \(size) pods")
                try await waitUntil("\(size) pods connected", seconds: 120) { clients.allSatisfy { $0.connections.count == 1 } }
                let recorder = ProbeRecorder(namespaces: pods.map(\.path)) { index in
                    clients[index].connections.first.flatMap(Self.endpointAddress)
                }
                let outcomes = try await withThrowingTaskGroup(of: Void.self) { probing in
                    probing.addTask { await recorder.run(every: probeInterval) }
                    defer { probing.cancelAll() }
                    var outcomes: [Outcome] = []
                    for fault in faults {
                        let run = FaultRun(cluster: cluster, clients: clients, pods: pods, recorder: recorder, benchmark: self)
                        try await run.settle()
                        log("N=\(size): \(fault.rawValue)")
                        let outcome = try await run.inject(fault)
                        log("N=\(size): \(fault.rawValue): \(outcome.pods) pods, back p50 \(Self.ms(outcome.back.p50)), p90 \(Self.ms(outcome.back.p90)), \(outcome.notBack) not back, lost p50 \(outcome.lost.p50)")
                        outcomes.append(outcome)
                    }
                    return outcomes
                }
                log("N=\(size): closing every connection")
                await inner.triggerGracefulShutdown()
                try await podTasks.next()
                return outcomes
            }
            let leftovers = try await Leftovers(cluster: cluster, pods: pods, inspector: inspector, registered: registered).count()
            await outer.triggerGracefulShutdown()
            return Result(count: size, outcomes: outcomes, leftovers: leftovers)
        }
    }

    func copyLogs(of cluster: LocalCluster, to directory: String) {
        let files = FileManager.default
        try? files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in (try? files.contentsOfDirectory(atPath: cluster.directory)) ?? [] where name.hasSuffix(".log") {
            try? files.removeItem(atPath: "\(directory)/\(name)")
            try? files.copyItem(atPath: "\(cluster.directory)/\(name)", toPath: "\(directory)/\(name)")
        }
        log("logs of N=\(cluster.prefix) copied to \(directory)")
    }

    /// The names in the registry (endpoints and forwarders), to compare with what is there at the end.
    static func registryNames(_ cluster: LocalCluster, _ pool: GRPCClientPool) async throws -> Set<String> {
        let registry = RegistryClient(url: try NSMURL(cluster.registryUnix), pool: pool)
        return Set(try await registry.findEndpoints(Registry_NetworkServiceEndpoint()).map(\.name))
    }

    /// The endpoint's address on the connection's link (`dst_ip_addrs`): what the pod probes.
    static func endpointAddress(_ connection: Connection_Connection) -> IPAddress? {
        connection.context.ipContext.dstIpAddrs.first.flatMap { IPAddress($0.split(separator: "/").first ?? "") }
    }

    static func ms(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.0f ms", value) }
}
