import Foundation
import IPAddressing
import Netlink
import NetlinkWire
import NSMAPI
import NSMBenchmarks
import NSMRuntime

/// One fault of the heal benchmark: waits for a healthy mesh, breaks it, measures each pod's
/// way back from the probes.
struct FaultRun {
    let cluster: LocalCluster
    let clients: [NSMClient]
    let pods: [NetworkNamespace]
    let recorder: ProbeRecorder
    let benchmark: HealBenchmark

    /// Waits until every pod's probes get through, and its client's own liveness check has seen
    /// them do so (a fault right after a repair would otherwise find the client still unsure).
    func settle() async throws {
        let since = monotonicNanoseconds(), now = ContinuousClock.now
        let clients = self.clients, recorder = self.recorder
        @Sendable func waiting() async -> [Int] {
            var waiting: [Int] = []
            for (index, client) in clients.enumerated() {
                guard recorder.answered(index, sentSince: since), let id = client.answeringDataPaths.first,
                      await client.dataPathAnswers(id, since: now) == true
                else {
                    waiting.append(index)
                    continue
                }
            }
            return waiting
        }
        do {
            try await waitUntil("every pod's data path answering", seconds: 60) { await waiting().isEmpty }
        } catch {
            let stragglers = await waiting()
            for pod in stragglers.prefix(3) {
                benchmark.log("pod\(pod): probes answered: \(recorder.answered(pod, sentSince: since)), client watching: \(clients[pod].answeringDataPaths)")
            }
            describe(stragglers, after: nil)
            throw error
        }
    }

    func inject(_ fault: HealFault) async throws -> HealBenchmark.Outcome {
        let healsBefore = clients.map(\.healCount)
        var outcome: HealBenchmark.Outcome
        switch fault {
        case .endpointKilled:
            let serving = Dictionary(grouping: clients.indices) { clients[$0].connections.first?.networkServiceEndpointName ?? "" }
            guard let (name, affected) = serving.max(by: { $0.value.count < $1.value.count }),
                  let endpoint = HealBenchmark.endpoints.first(where: { $0.name == name })
            else { throw LocalMeshError("no pod is served by an endpoint of the benchmark") }
            // Timed from the kill to the first probe answered by the other endpoint: the dead
            // one's namespace may answer a while longer (the kernel destroys it when its last
            // holder lets go), which is not the service back.
            let old = affected.map { recorder.target($0) }
            let killed = monotonicNanoseconds()
            await cluster.processes[name]?.crash()
            try NetworkNamespace.delete(named: cluster.namespaceName(name))
            cluster.namespaces[name] = nil
            outcome = try await measure(fault, affected: affected, from: affected.map { _ in killed }, awayFrom: old)
            // Back for the faults after, as a restarted pod would be.
            try await cluster.startEndpoint(name, node: 1, services: [HealBenchmark.service], labels: [:], cidr: endpoint.cidr)
        case .podInterfaceDeleted:
            var deleted: [UInt64] = []
            for pod in pods {
                try NetlinkHandle(namespace: pod).deleteLink(named: "nsm-0")
                deleted.append(monotonicNanoseconds())
            }
            outcome = try await measure(fault, affected: Array(pods.indices), from: deleted)
        case .endpointInterfaceDeleted:
            // Each endpoint-side interface carries the address its pod probes.
            var deleted: [IPAddress: UInt64] = [:]
            for endpoint in HealBenchmark.endpoints {
                guard let namespace = cluster.namespaces[endpoint.name] else { continue }
                let handle = try NetlinkHandle(namespace: namespace)
                let addresses = try handle.addresses()
                for link in try handle.links() where link.index != 1 {
                    try handle.deleteLink(index: link.index)
                    let now = monotonicNanoseconds()
                    for address in addresses where address.index == link.index { deleted[address.prefix.address] = now }
                }
            }
            let targets = clients.map { $0.connections.first.flatMap(HealBenchmark.endpointAddress) }
            let affected = clients.indices.filter { targets[$0].map { deleted[$0] != nil } ?? false }
            outcome = try await measure(fault, affected: affected, from: affected.map { deleted[targets[$0]!]! })
        case .underlayBlackholed:
            let routes = [(0, 1), (1, 0)].map { node, peer in
                (node, Route(destination: cluster.nodeAddress(peer).hostPrefix, type: .blackhole))
            }
            for (node, route) in routes { try handle(node).addRoute(route) }
            try await Task.sleep(for: benchmark.blackhole)
            for (node, route) in routes { try handle(node).deleteRoute(route) }
            let repaired = monotonicNanoseconds()
            outcome = try await measure(fault, affected: Array(pods.indices), from: pods.map { _ in repaired })
        case .nodeRestarted, .remoteNodeRestarted:
            let node = fault == .nodeRestarted ? 0 : 1
            let killed = monotonicNanoseconds()
            await cluster.processes["node\(node)"]?.crash()
            try await cluster.startNode(node)
            outcome = try await observe(fault, from: killed)
        case .registryRestarted:
            let killed = monotonicNanoseconds()
            await cluster.processes["registry"]?.crash()
            try await cluster.startRegistry()
            outcome = try await observe(fault, from: killed)
        }
        outcome.reselected = zip(clients, healsBefore).map { $0.healCount - $1 }.reduce(0, +)
        return outcome
    }

    func handle(_ node: Int) throws -> NetlinkHandle {
        guard let namespace = cluster.namespaces["node\(node)"] else { throw LocalMeshError("node\(node) has no namespace") }
        return try NetlinkHandle(namespace: namespace)
    }

    /// Waits (up to the benchmark's deadline) until every affected pod has a probe through that
    /// was sent after its fault time; then the times and losses.
    /// - Parameter awayFrom: per pod, an address whose answers do not count (the dead endpoint's).
    func measure(_ fault: HealFault, affected: [Int], from times: [UInt64], awayFrom old: [IPAddress?]? = nil) async throws -> HealBenchmark.Outcome {
        let recorder = self.recorder, old = old ?? affected.map { _ in nil }
        let end = ContinuousClock.now + benchmark.deadline
        while ContinuousClock.now < end, !affected.indices.allSatisfy({ recorder.recovery(affected[$0], after: times[$0], awayFrom: old[$0]).answered != nil }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        var back: [Double] = [], lost: [Double] = [], stranded: [Int] = []
        for (index, pod) in affected.enumerated() {
            let time = times[index]
            let recovery = recorder.recovery(pod, after: time, awayFrom: old[index])
            if let answered = recovery.answered { back.append(Double(answered - time) / 1e6) } else { stranded.append(pod) }
            lost.append(Double(recovery.lost))
        }
        describe(stranded, after: fault)
        return .init(fault: fault, pods: affected.count, back: Percentiles(back), notBack: stranded.count, lost: Percentiles(lost), reselected: 0)
    }

    /// After a restart: probes keep going for a while once the process is back (its clients
    /// reconnect, its registrants register again); every probe lost since the kill is counted,
    /// and a pod that lost any is "back" when a probe sent after its last loss got through.
    func observe(_ fault: HealFault, from killed: UInt64, window: Duration = .seconds(5)) async throws -> HealBenchmark.Outcome {
        try await Task.sleep(for: window)
        let until = monotonicNanoseconds() - 500_000_000  // replies to the last probes may still be on their way
        var back: [Double] = [], lost: [Double] = [], notBack: [Int] = []
        for pod in pods.indices {
            let losses = recorder.lostProbes(pod, sentIn: killed...until)
            lost.append(Double(losses.count))
            guard let last = losses.last else {
                back.append(0)
                continue
            }
            if let answered = recorder.recovery(pod, after: last + 1).answered { back.append(Double(answered - killed) / 1e6) } else { notBack.append(pod) }
        }
        describe(notBack, after: fault)
        return .init(fault: fault, pods: pods.count, back: Percentiles(back), notBack: pods.count - back.count, lost: Percentiles(lost), reselected: 0)
    }

    /// Logs what the first few pods left without their service hold: their connection as the
    /// client has it, and their interfaces as the kernel has them.
    func describe(_ stranded: [Int], after fault: HealFault?) {
        for pod in stranded.prefix(3) {
            let connection = clients[pod].connections.first
            let held = connection.map { "endpoint \($0.networkServiceEndpointName), \($0.context.ipContext.srcIpAddrs) → \($0.context.ipContext.dstIpAddrs), mechanism \($0.mechanism.parameters)" } ?? "none"
            let interfaces = (try? runIn(pods[pod], "/usr/sbin/ip", ["-d", "-br", "addr", "show"]).output) ?? "?"
            benchmark.log("\(fault?.rawValue ?? "settling"): pod\(pod) not back; its connection: \(held); its interfaces:\n\(interfaces)")
        }
    }
}
