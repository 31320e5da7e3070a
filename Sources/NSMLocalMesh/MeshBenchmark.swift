import Foundation
import Glibc
import Logging
import Netlink
import NSMAnnotation
import NSMAPI
import NSMBenchmarks
import TextTables
import NSMCore
import NSMTelemetry
import GRPCCore
import LeanGRPC
import SPIFFE
import NSMRuntime
import ServiceLifecycle

/// Full request → interface ready in the pod, through the real processes of a local
/// two-node cluster: per pod, a client requests one service and returns once the forwarder
/// has created and configured the pod's interface. Same node (veth) and cross node (VXLAN),
/// next to the CNI `ptp` plugin attaching the same number of pods, in the same run; and the
/// resident memory of the node process holding all the connections. Every hop speaks mutual TLS
/// with SPIFFE identities (each pod's client has its own connection, so its own handshake); the
/// same cluster in plaintext is measured in the same run, so the difference is what mTLS costs.
public struct MeshBenchmark: Sendable {
    public struct Result: Sendable {
        public var count: Int
        public var sameNode: Percentiles
        public var crossNode: Percentiles?
        public var cni: Percentiles?
        public var nodeRSSKilobytes: Int
        /// Opening each pod's connection to its manager (with mutual TLS: the handshake), before its Request.
        public var connect: Percentiles
        /// CPU time per pod (connection, Requests and the client's monitor stream) of the node
        /// process serving the pods and of the process holding the pods' clients, in milliseconds.
        public var cpuPerPod: (node: Double, client: Double)
        /// The same requests (mutual TLS) with Prometheus metrics on in every component.
        public var withMetrics: (sameNode: Percentiles, crossNode: Percentiles?)?
        /// The same requests (mutual TLS) with tracing on in every component and in the pods'
        /// clients, spans exported over OTLP to a collector in each namespace.
        public var withTracing: (sameNode: Percentiles, crossNode: Percentiles?)?
        /// The same requests with every component in plaintext.
        public var plaintext: (sameNode: Percentiles, crossNode: Percentiles?, connect: Percentiles, cpuPerPod: (node: Double, client: Double))?
        /// One path token signed, and one verified, in microseconds (each hop verifies the previous
        /// hop's token and signs its own on every Request and Close).
        public var token: (sign: Double, verify: Double)?
    }

    public var sizes: [Int]
    public var crossNode: Bool
    public var compareCNI: Bool
    public var comparePlaintext: Bool
    public var compareMetrics: Bool
    public var compareTracing: Bool
    public var log: @Sendable (String) -> Void

    public init(
        sizes: [Int], crossNode: Bool = true, compareCNI: Bool = true, comparePlaintext: Bool = true, compareMetrics: Bool = true,
        compareTracing: Bool = true, log: @escaping @Sendable (String) -> Void
    ) {
        self.sizes = sizes
        self.crossNode = crossNode
        self.compareCNI = compareCNI
        self.comparePlaintext = comparePlaintext
        self.compareMetrics = compareMetrics
        self.compareTracing = compareTracing
        self.log = log
    }

    public func run() async throws -> [Result] {
        guard compareTracing else { return try await runVariants() }
        // This process's spans (the pods' clients) go to a collector of its own; the tracer is
        // bootstrapped once and switched on for the tracing runs only.
        let transport = LeanServerTransport(address: .tcp(host: "127.0.0.1", port: 0))
        let sink = OTLPSink()
        let server = GRPCServer(transport: transport, services: [sink])
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            guard case .tcp(_, let port) = try await transport.listeningAddress else { throw LocalMeshError("the collector has no TCP port") }
            var logger = Logger(label: "nsm.bench.tracing")
            logger.logLevel = .warning
            let exporter = try MeshTracing.bootstrap(TracingSettings(enabled: true, endpoint: "127.0.0.1:\(port)"), serviceName: "nsm-bench", logger: logger)
            // The exporter flushes its last spans at graceful shutdown, before the collector stops.
            let exporting = ServiceGroup(configuration: .init(services: [.init(service: exporter)], logger: logger))
            let results = try await withThrowingTaskGroup(of: Void.self) { exportingTasks in
                exportingTasks.addTask { try await exporting.run() }
                do {
                    let results = try await runVariants()
                    await exporting.triggerGracefulShutdown()
                    try await exportingTasks.waitForAll()
                    return results
                } catch {
                    await exporting.triggerGracefulShutdown()
                    throw error
                }
            }
            log("the pods' clients exported \(sink.received.exports) batches of spans (\(sink.received.bytes) bytes)")
            return results
        }
    }

    func runVariants() async throws -> [Result] {
        var results: [Result] = []
        for size in sizes {
            results.append(try await measure(size, prefix: "nsmbm") { _ in })
            if compareMetrics {
                log("N=\(size): the same with Prometheus metrics on")
                let result = try await measure(size, prefix: "nsmbx") { $0.metrics = true }
                results[results.count - 1].withMetrics = (result.sameNode, result.crossNode)
            }
            if compareTracing {
                log("N=\(size): the same with tracing on (OTLP to a collector in each namespace)")
                ChainTracing.switchOn(elements: false)
                defer { ChainTracing.switchOff() }
                let result = try await measure(size, prefix: "nsmbt") { $0.tracing = true }
                results[results.count - 1].withTracing = (result.sameNode, result.crossNode)
            }
            if comparePlaintext {
                log("N=\(size): the same in plaintext")
                let result = try await measure(size, prefix: "nsmbp") { $0.secure = false }
                results[results.count - 1].plaintext = (result.sameNode, result.crossNode, result.connect, result.cpuPerPod)
            }
            if compareCNI {
                log("N=\(size): CNI ptp for comparison")
                let cni = try AttachBenchmark(sizes: [size], methods: [.cni], verifySample: 1).run()
                results[results.count - 1].cni = cni.first?.attach
            }
        }
        return results
    }

    /// One variant: a fresh cluster (`configure` sets it up: metrics, plaintext), measured, torn down.
    func measure(_ size: Int, prefix: String, configure: (LocalCluster) -> Void) async throws -> Result {
        let cluster = LocalCluster(prefix: "\(prefix)\(getpid())-\(size)", nodes: 2)
        configure(cluster)
        do {
            let result = try await measure(size, cluster: cluster)
            await cluster.tearDown()
            return result
        } catch {
            await cluster.tearDown()
            throw error
        }
    }

    func measure(_ size: Int, cluster: LocalCluster) async throws -> Result {
        log("N=\(size): starting a two-node cluster")
        try cluster.buildNetwork()
        try await cluster.startControlPlane()
        try await cluster.startEndpoint("nse-local", node: 0, services: ["bench-local"], labels: [:], cidr: "172.20.0.0/16")
        if crossNode {
            try await cluster.startEndpoint("nse-remote", node: 1, services: ["bench-remote"], labels: [:], cidr: "172.21.0.0/16")
        }
        log("N=\(size): creating \(size) pod namespaces")
        let pods = try (0..<size).map { try cluster.createNamespace("pod\($0)") }
        // One pool per pod, as each pod is its own process in a cluster: its connection to the
        // manager passes the pod's namespace (the manager refuses a namespace the caller does not speak for).
        let identity = cluster.secure ? try WorkloadAPISource(endpoint: cluster.agentSocket) : nil
        if let identity { try await identity.prime(timeout: .seconds(30)) }
        let pools = pods.map { GRPCClientPool(passingNamespace: $0.path, identity: identity) }
        var logger = Logger(label: "nsm.bench")
        logger.logLevel = .error
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = (identity.map { [.init(service: $0)] } ?? []) + pools.map { .init(service: $0) }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            var sameNode: [Double] = [], cross: [Double] = [], connect: [Double] = []
            var clients: [NSMClient] = []
            let node = cluster.processes["node0"]?.pid ?? 0
            let cpuBefore = (node: processCPUMilliseconds(node) ?? 0, client: processCPUMilliseconds(getpid()) ?? 0)
            for (index, pod) in pods.enumerated() {
                // The pod's connection to its manager first, timed apart: handshakes are per connection.
                let opened = monotonicNanoseconds()
                try await pools[index].connect(to: try NSMURL(cluster.managerURL(0)))
                connect.append(Double(monotonicNanoseconds() - opened) / 1e6)
                let services = crossNode ? ["bench-local", "bench-remote"] : ["bench-local"]
                for (which, service) in services.enumerated() {
                    let client = NSMClient(.init(
                        name: "pod\(index)-\(which)", managerURL: try NSMURL(cluster.managerURL(0)),
                        annotation: try NetworkServiceAnnotation.parse("kernel://\(service)/nsm-\(which)"),
                        namespaceURL: pod.identity.url, requestTimeout: .seconds(30)), pool: pools[index], logger: logger)
                    let start = monotonicNanoseconds()
                    _ = try await client.connect()
                    let elapsed = Double(monotonicNanoseconds() - start) / 1e6
                    if which == 0 { sameNode.append(elapsed) } else { cross.append(elapsed) }
                    clients.append(client)
                }
                if index > 0, index % 100 == 0 { log("N=\(size): \(index) pods connected") }
            }
            let cpu = (
                node: ((processCPUMilliseconds(node) ?? 0) - cpuBefore.node) / Double(size),
                client: ((processCPUMilliseconds(getpid()) ?? 0) - cpuBefore.client) / Double(size))
            // Check one pod really got its interfaces.
            let last = try runIn(pods[pods.count - 1], "/usr/sbin/ip", ["-br", "addr", "show"])
            guard last.output.contains("nsm-0") else { throw LocalMeshError("the last pod has no nsm-0 interface:\n\(last.output)") }
            let rss = processResidentKilobytes(cluster.processes["node0"]?.pid ?? 0)
            await group.triggerGracefulShutdown()
            return Result(
                count: size, sameNode: Percentiles(sameNode), crossNode: crossNode ? Percentiles(cross) : nil, cni: nil, nodeRSSKilobytes: rss,
                connect: Percentiles(connect), cpuPerPod: cpu, token: cluster.secure ? try Self.tokenCost() : nil)
        }
    }

    /// Microseconds to sign one path token and to verify one, with a P-256 SVID as the agent issues.
    static func tokenCost(rounds: Int = 500) throws -> (sign: Double, verify: Double) {
        let issuer = try SVIDIssuer(trustDomain: "bench.nsm")
        let svid = try issuer.issue(try SPIFFEID("spiffe://bench.nsm/ns/default/pod/bench"), validity: 600)
        let token = PathToken(subject: svid.id.description, audience: ["spiffe://bench.nsm/ns/nsm-system/pod/nsmgr"], expires: Date().addingTimeInterval(600))
        var texts: [String] = []
        let signing = monotonicNanoseconds()
        for _ in 0..<rounds { texts.append(try token.signed(with: svid)) }
        let signed = monotonicNanoseconds()
        for text in texts { _ = try PathToken.verify(text, signer: svid.leaf) }
        let verified = monotonicNanoseconds()
        return (Double(signed - signing) / 1e3 / Double(rounds), Double(verified - signed) / 1e3 / Double(rounds))
    }

    public static func render(_ results: [Result], markdown: Bool) -> String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "-" }
        func cpu(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "-" }
        var rows = [[
            "pods", "same node p50", "p90", "cross node p50", "p90", "metrics on: same p50", "cross p50", "tracing on: same p50", "cross p50",
            "plaintext same p50", "plaintext cross p50", "connect p50 mTLS",
            "plaintext", "node CPU/pod mTLS", "plaintext", "client CPU/pod mTLS", "plaintext", "CNI ptp p50", "p90", "ptp ÷ same-node p50", "node RSS",
        ]]
        for result in results {
            let ratio = result.cni.map { String(format: "%.1f×", $0.p50 / result.sameNode.p50) } ?? "-"
            rows.append([
                String(result.count), ms(result.sameNode.p50), ms(result.sameNode.p90), ms(result.crossNode?.p50), ms(result.crossNode?.p90),
                ms(result.withMetrics?.sameNode.p50), ms(result.withMetrics?.crossNode?.p50),
                ms(result.withTracing?.sameNode.p50), ms(result.withTracing?.crossNode?.p50),
                ms(result.plaintext?.sameNode.p50), ms(result.plaintext?.crossNode?.p50), ms(result.connect.p50), ms(result.plaintext?.connect.p50),
                cpu(result.cpuPerPod.node), cpu(result.plaintext?.cpuPerPod.node), cpu(result.cpuPerPod.client), cpu(result.plaintext?.cpuPerPod.client),
                ms(result.cni?.p50), ms(result.cni?.p90), ratio, "\(result.nodeRSSKilobytes / 1024) MB",
            ])
        }
        var table = TextTable.render(rows, markdown: markdown)
        if let token = results.first(where: { $0.token != nil })?.token {
            table += String(format: "\nPath token (ES256 JWT): sign %.0f µs, verify %.0f µs; each hop verifies one and signs one per Request and Close.", token.sign, token.verify)
        }
        return table
    }
}
