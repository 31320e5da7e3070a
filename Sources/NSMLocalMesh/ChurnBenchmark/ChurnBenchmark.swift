import Foundation
import Glibc
import Logging
import Netlink
import NSMAnnotation
import NSMAPI
import NSMBenchmarks
import NSMCore
import NSMElements
import NSMRuntime
import SPIFFE
import ServiceLifecycle
import Synchronization

/// Many pods connecting and closing, with components killed in between, through the real
/// processes of a local two-node cluster (the heal benchmark's: pods on node 0, endpoints
/// `nse-a` and `nse-b` on node 1). Each pod: a namespace, a client, one Request, its interface
/// checked, Close, its interface checked gone, the namespace deleted. Every `killEvery` pods the
/// next of `nse-a`, `nse-b` and node 1 is killed with SIGKILL and started again. Checked
/// throughout: no two live connections share an address; every closed pod's interface is gone.
/// At the end: what is left, and the resident memory and open descriptors of the processes
/// never killed (node 0, the registry) against where they were after a warm-up.
public struct ChurnBenchmark: Sendable {
    public struct Usage: Sendable {
        public var name: String
        public var before: (rssKilobytes: Int, descriptors: Int)
        public var after: (rssKilobytes: Int, descriptors: Int)
    }

    public struct Result: Sendable {
        public var pods: Int
        public var seconds: Double
        /// Requests that failed and were tried again (the kills).
        public var retries: Int
        public var kills: [String]
        /// Broken invariants, each once.
        public var violations: [String]
        /// Left once every pod closed; and a while later (`settle`), then after the cluster stopped.
        public var leftovers: [String]
        public var leftoversLater: [String]
        public var usage: [Usage]
    }

    public var pods: Int
    public var concurrency: Int
    public var killEvery: Int
    /// The clients' token lifetime (upstream's `NSM_MAX_TOKEN_LIFETIME`, 10 min by default).
    public var tokenLifetime: Duration = .seconds(20)
    /// How long to wait, once every pod closed, for what is left to go (a Close a kill swallowed
    /// leaves the endpoint's side until the connection expires there: the node's segment
    /// lifetime, 10 min).
    public var settle: Duration = .seconds(60)
    public var log: @Sendable (String) -> Void

    public init(pods: Int, concurrency: Int = 8, killEvery: Int = 100, log: @escaping @Sendable (String) -> Void) {
        self.pods = pods
        self.concurrency = concurrency
        self.killEvery = killEvery
        self.log = log
    }

    static let victims = ["nse-a", "nse-b", "node1"]

    public func run() async throws -> Result {
        let cluster = LocalCluster(prefix: "nsmchurn\(getpid())", nodes: 2)
        do {
            var result = try await measure(cluster)
            await cluster.tearDown()
            result.leftoversLater += cluster.leftovers()
            return result
        } catch {
            await cluster.tearDown()
            throw error
        }
    }

    func measure(_ cluster: LocalCluster) async throws -> Result {
        log("starting a two-node cluster, endpoints on node 1")
        try cluster.buildNetwork()
        try await cluster.startControlPlane()
        for endpoint in HealBenchmark.endpoints {
            try await cluster.startEndpoint(endpoint.name, node: 1, services: [HealBenchmark.service], labels: [:], cidr: endpoint.cidr)
        }
        let identity = try WorkloadAPISource(endpoint: cluster.agentSocket)
        try await identity.prime(timeout: .seconds(30))
        var logger = Logger(label: "nsm.bench")
        logger.logLevel = .critical
        let inspector = GRPCClientPool(identity: identity)
        let services = ServiceGroup(configuration: .init(services: [.init(service: identity), .init(service: inspector)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            defer { tasks.cancelAll() }
            let registered = try await HealBenchmark.registryNames(cluster, inspector)
            let cycle = PodCycle(cluster: cluster, identity: identity, logger: logger, tokenLifetime: tokenLifetime)
            // Warm up, then take the baseline of the processes that are never killed.
            try await cycle.churn(count: 20, from: 0, concurrency: concurrency)
            let watched = ["node0", "registry"].compactMap { name in cluster.processes[name].map { (name, $0.pid) } }
            let before = watched.map { (processResidentKilobytes($0.1), processOpenDescriptors($0.1)) }
            log("\(pods) pods, \(concurrency) at a time, a kill every \(killEvery)")
            let started = monotonicNanoseconds()
            let kills = Mutex<[String]>([])
            // One kill at a time: the cluster's process table has one writer.
            let every = killEvery, log = self.log, oneAtATime = KeyedSerializer()
            try await cycle.churn(count: pods, from: 20, concurrency: concurrency, killEvery: every) { done in
                let victim = Self.victims[(done / every - 1) % Self.victims.count]
                kills.withLock { $0.append("\(victim) after \(done) pods") }
                log("\(done) pods: killing \(victim)")
                try await oneAtATime.run("kill") { try await Self.restart(victim, in: cluster) }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            let after = watched.map { (processResidentKilobytes($0.1), processOpenDescriptors($0.1)) }
            let left = try await Leftovers(cluster: cluster, pods: [], inspector: inspector, registered: registered).count()
            var drained = left
            let deadline = ContinuousClock.now + settle
            while !drained.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(1))
                drained = try await Leftovers(cluster: cluster, pods: [], inspector: inspector, registered: registered).count()
            }
            await services.triggerGracefulShutdown()
            return Result(
                pods: pods, seconds: seconds, retries: cycle.retries, kills: kills.withLock { $0 }, violations: cycle.violations,
                leftovers: left, leftoversLater: drained,
                usage: zip(watched, zip(before, after)).map { Usage(name: $0.0, before: $1.0, after: $1.1) })
        }
    }

    /// SIGKILL, then the same component started again (an endpoint in its own namespace, as a
    /// restarted container).
    static func restart(_ victim: String, in cluster: LocalCluster) async throws {
        await cluster.processes[victim]?.crash()
        if victim == "node1" {
            try await cluster.startNode(1)
        } else if let endpoint = HealBenchmark.endpoints.first(where: { $0.name == victim }) {
            try await cluster.startEndpoint(endpoint.name, node: 1, services: [HealBenchmark.service], labels: [:], cidr: endpoint.cidr)
        }
    }
}
