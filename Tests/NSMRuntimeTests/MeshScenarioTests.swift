import Foundation
import Glibc
import GRPCCore
import IPAddressing
import NSMAPI
import NSMCore
import NSMRegistry
import NSMAnnotation
import SwiftProtobuf
import NSMElements
import NSMRuntime
import Synchronization
import Testing

@Suite("Mesh scenarios over real sockets", .serialized)
struct MeshScenarioTests {
    @Test("without the in-process shortcut the manager reaches its forwarder over gRPC, with the same result")
    func localRequestOverGRPC() async throws {
        try await Mesh.with(nodes: 1, inProcess: false) { mesh in
            try await mesh.addEndpoint("nse-foo", node: 0, services: ["svc-1"], labels: [:], cidr: ["172.16.1.0/24"], routes: [])
            let client = try mesh.client("kernel://svc-1/nsm-1", name: "pod-g")
            let connection = try #require(try await client.connect().first)
            #expect(connection.path.pathSegments.map(\.name) == ["pod-g", "nsmgr-node-0", "forwarder-node-0", "nse-foo"])
            #expect(connection.context.ipContext.srcIpAddrs == ["172.16.1.1/32"] && connection.state == .up)
            #expect(mesh.nodes[0].dataPlane.connected.count == 1)
            await client.closeAll()
            #expect(mesh.nodes[0].dataPlane.connected.isEmpty)
        }
    }

    @Test("a local request travels client → manager → forwarder → endpoint and back")
    func localRequest() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-foo", node: 0, services: ["svc-1"], labels: ["app": "foo"], cidr: ["172.16.1.0/24"], routes: ["10.60.0.0/16"])
            let client = try mesh.client("kernel://svc-1/nsm-1?app=foo&version=v1.1", name: "pod-a")
            let connection = try #require(try await client.connect().first)
            #expect(connection.id == "pod-a-0")
            #expect(connection.networkServiceEndpointName == "nse-foo")
            #expect(connection.path.pathSegments.map(\.name) == ["pod-a", "nsmgr-node-0", "forwarder-node-0", "nse-foo"])
            #expect(connection.path.index == 0)
            #expect(connection.path.pathSegments[0].id == "pod-a-0")
            #expect(connection.mechanism.type == "KERNEL" && connection.mechanism.kernelInterfaceName == "nsm-1")
            #expect(connection.mechanism.inodeURL == "inode://4/4026539999")
            #expect(connection.context.ipContext.srcIpAddrs == ["172.16.1.1/32"])
            #expect(connection.context.ipContext.dstIpAddrs == ["172.16.1.0/32"])
            #expect(connection.context.ipContext.srcRoutes.map(\.prefix).contains("10.60.0.0/16"))
            #expect(connection.labels["nodeName"] == "node-0" && connection.labels["podName"] == "pod-a" && connection.labels["version"] == "v1.1")
            #expect(connection.state == .up)
            // The forwarder plumbed the client's kernel interface to the endpoint's.
            let plumbing = try #require(mesh.nodes[0].dataPlane.connected.values.first)
            #expect(plumbing.incoming.kernelInterfaceName == "nsm-1" && plumbing.incoming.inodeURL == "inode://4/4026539999")
            #expect(plumbing.outgoing.isKernel && plumbing.outgoing.inodeURL != plumbing.incoming.inodeURL)
            #expect(plumbing.context.ipContext.srcIpAddrs == ["172.16.1.1/32"])
            // Close travels the same path and removes everything.
            await client.closeAll()
            #expect(mesh.nodes[0].dataPlane.connected.isEmpty)
            #expect(mesh.nodes[0].manager.monitor.connections.isEmpty)
            #expect(mesh.nodes[0].forwarder.monitor.connections.isEmpty)
        }
    }

    @Test("labels steer to the endpoint on the other node, over a VXLAN mechanism")
    func remoteRequest() async throws {
        try await Mesh.with(nodes: 2) { mesh in
            try await mesh.addEndpoint("nse-foo", node: 0, services: ["svc-1"], labels: ["app": "foo"])
            try await mesh.addEndpoint("nse-bar", node: 1, services: ["svc-1"], labels: ["app": "bar"], cidr: ["172.16.2.0/24"])
            try await mesh.registerService(.with {
                $0.name = "svc-1"
                $0.payload = "ETHERNET"
                $0.matches = [.with {
                    $0.sourceSelector = ["app": "bar"]
                    $0.routes = [.with { $0.destinationSelector = ["app": "bar"] }]
                }, .with {
                    $0.routes = [.with { $0.destinationSelector = ["app": "foo"] }]
                }]
            })
            let client = try mesh.client("kernel://svc-1/nsm-1?app=bar", node: 0, name: "pod-b")
            let connection = try #require(try await client.connect().first)
            #expect(connection.networkServiceEndpointName == "nse-bar")
            #expect(connection.path.pathSegments.map(\.name) == ["pod-b", "nsmgr-node-0", "forwarder-node-0", "nsmgr-node-1", "forwarder-node-1", "nse-bar"])
            #expect(connection.context.mtu == 1446)
            #expect(connection.context.ipContext.srcIpAddrs == ["172.16.2.1/32"])
            let a = try #require(mesh.nodes[0].dataPlane.connected.values.first)
            let b = try #require(mesh.nodes[1].dataPlane.connected.values.first)
            #expect(a.incoming.isKernel && a.outgoing.isVXLAN)
            #expect(b.incoming.isVXLAN && b.outgoing.isKernel)
            #expect(a.outgoing.vxlanSourceIP == mesh.nodes[0].tunnelIP && a.outgoing.vxlanDestinationIP == mesh.nodes[1].tunnelIP)
            #expect(a.outgoing.vni != nil && a.outgoing.vni == b.incoming.vni)
            #expect(b.incoming.tunnelMTU == 1446)
            // A request without app=bar falls to the second match: the local endpoint.
            let other = try mesh.client("kernel://svc-1/nsm-2?app=baz", node: 0, name: "pod-c")
            #expect(try await other.connect().first?.networkServiceEndpointName == "nse-foo")
            await client.closeAll()
            await other.closeAll()
            #expect(mesh.nodes[0].dataPlane.connected.isEmpty && mesh.nodes[1].dataPlane.connected.isEmpty)
        }
    }

    @Test("two services of one pod get non-overlapping addresses even from overlapping pools")
    func twoServices() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-1", node: 0, services: ["svc-1"], cidr: ["10.10.0.0/24"])
            try await mesh.addEndpoint("nse-2", node: 0, services: ["svc-2"], cidr: ["10.10.0.0/24"])
            let client = try mesh.client("kernel://svc-1/nsm-1, kernel://svc-2/nsm-2", name: "pod-d")
            let connections = try await client.connect()
            #expect(connections.count == 2)
            let addresses = connections.flatMap { $0.context.ipContext.srcIpAddrs + $0.context.ipContext.dstIpAddrs }
            #expect(Set(addresses).count == 4, "addresses: \(addresses)")
            let second = try #require(connections.last)
            let first = try #require(connections.first)
            for address in second.context.ipContext.srcIpAddrs + second.context.ipContext.dstIpAddrs {
                #expect(!(first.context.ipContext.srcIpAddrs + first.context.ipContext.dstIpAddrs).contains(address))
            }
            await client.closeAll()
        }
    }

    @Test("a pod's connection reports arrive in order, outside any lock: the last one holds every service (the pod's DNS follows them)")
    func reportsInOrder() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            let count = 6
            for service in 0..<count {
                try await mesh.addEndpoint("nse-r\(service)", node: 0, services: ["svc-r\(service)"], cidr: ["172.18.\(service).0/24"])
            }
            let annotation = (0..<count).map { "kernel://svc-r\($0)/nsm-\($0)" }.joined(separator: ", ")
            let all = (0..<count).map { "svc-r\($0)" }.sorted()
            for round in 0..<4 {
                let reports = Mutex<[[String]]>([])
                let client = try mesh.client(annotation, name: "pod-r\(round)") { connections in
                    // A receiver that takes a moment (PodDNS writes resolv.conf), longer for
                    // smaller reports: reports that overlapped would land out of order.
                    usleep(UInt32(2000 * (count + 1 - connections.count)))
                    reports.withLock { $0.append(connections.map(\.networkService).sorted()) }
                }
                let runner = ServiceRunner()
                runner.start([client])
                await client.ready()
                try await waitUntil("a report with every service") { reports.withLock { $0.last } == all }
                let seen = reports.withLock { $0 }
                // Each report holds at least what the one before it held (a slow receiver may
                // skip to the newest, never go back).
                let ordered = zip(seen, seen.dropFirst()).allSatisfy { Set($0).isSubset(of: Set($1)) }
                #expect(ordered, "reports out of order: \(seen)")
                await runner.stopAll()
                #expect(reports.withLock { $0.last } == [])
            }
        }
    }

    @Test("round robin alternates between equal endpoints")
    func roundRobin() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-x", node: 0, services: ["svc-rr"])
            try await mesh.addEndpoint("nse-y", node: 0, services: ["svc-rr"], cidr: ["172.16.9.0/24"])
            var chosen: [String] = []
            for index in 0..<4 {
                let client = try mesh.client("kernel://svc-rr/nsm-1", name: "rr-\(index)")
                chosen.append(try await client.connect().first?.networkServiceEndpointName ?? "")
                await client.closeAll()
            }
            #expect(Set(chosen) == ["nse-x", "nse-y"])
            #expect(chosen[0] != chosen[1] && chosen[1] != chosen[2])
        }
    }

    @Test("the manager's monitor streams initial state, updates and deletes")
    func monitorEvents() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-m", node: 0, services: ["svc-m"])
            let events = mesh.nodes[0].manager.monitor.subscribe(Connection_MonitorScopeSelector())
            var iterator = events.makeAsyncIterator()
            #expect(await iterator.next()?.type == .initialStateTransfer)
            let client = try mesh.client("kernel://svc-m/nsm-1", name: "pod-m")
            let connection = try #require(try await client.connect().first)
            let update = await iterator.next()
            #expect(update?.type == .update)
            #expect(update?.connections.values.first?.path.pathSegments.first?.id == connection.id)
            await client.closeAll()
            #expect(await iterator.next()?.type == .delete)
        }
    }

    @Test("killing the endpoint makes the client reselect another one")
    func endpointDeathHeals() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            let (_, first) = try await mesh.addEndpoint("nse-1", node: 0, services: ["svc-h"])
            let client = try mesh.client("kernel://svc-h/nsm-1", name: "pod-h")
            let runner = ServiceRunner()
            runner.start([client])
            await client.ready()
            #expect(client.connections.first?.networkServiceEndpointName == "nse-1")
            try await mesh.addEndpoint("nse-2", node: 0, services: ["svc-h"], cidr: ["172.16.8.0/24"])
            await mesh.runnerKill(first)
            try await waitUntil("the client to heal onto nse-2", seconds: 15) {
                client.connections.first?.networkServiceEndpointName == "nse-2"
            }
            #expect(client.healCount >= 1)
            #expect(client.connections.first?.context.ipContext.srcIpAddrs == ["172.16.8.1/32"])
            await runner.stopAll()
        }
    }

    @Test("endpoint registrations expire when not renewed")
    func expiry() async throws {
        try await Mesh.with(nodes: 1, expirePeriod: .seconds(1)) { mesh in
            let (_, handle) = try await mesh.addEndpoint("nse-e", node: 0, services: ["svc-e"])
            let forwarders: @Sendable () -> [Registry_NetworkServiceEndpoint] = {
                mesh.registry.storage.findEndpoints(.with { $0.networkServiceNames = ["forwarder"] })
            }
            let firstExpiry = try #require(forwarders().first?.expirationTime.date)
            await mesh.runnerKill(handle)
            try await waitUntil("nse-e to expire", seconds: 5) {
                mesh.registry.storage.findEndpoints(.with { $0.name = "nse-e" }).isEmpty
            }
            // Forwarders keep theirs alive by re-registering at 2/3 of the period: past the first
            // registration's expiry, the forwarder is still there, renewed.
            try await waitUntil("the forwarder's first registration to have run out", seconds: 5) { Date() > firstExpiry }
            #expect(forwarders().count == 1)
            #expect((forwarders().first?.expirationTime.date ?? .distantPast) > firstExpiry)
        }
    }

    @Test("cluster excluded prefixes from the manager's file are respected and reloaded")
    func excludedPrefixes() async throws {
        let file = NSTemporaryDirectory() + "excluded-\(UUID().uuidString).yaml"
        try "Prefixes:\n- 172.16.1.0/30\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await Mesh.with(nodes: 1, excludedPrefixesFile: file) { mesh in
            try await mesh.addEndpoint("nse-x", node: 0, services: ["svc-x"], cidr: ["172.16.1.0/24"])
            let first = try mesh.client("kernel://svc-x/nsm-1", name: "pod-x1")
            let connection = try #require(try await first.connect().first)
            #expect(connection.context.ipContext.dstIpAddrs == ["172.16.1.4/32"])
            #expect(connection.context.ipContext.excludedPrefixes.contains("172.16.1.0/30"))
            try "Prefixes: [172.16.1.0/29, \"10.96.0.0/12\"]\n".write(toFile: file, atomically: true, encoding: .utf8)
            let second = try mesh.client("kernel://svc-x/nsm-1", name: "pod-x2")
            let next = try #require(try await second.connect().first)
            #expect(next.context.ipContext.dstIpAddrs == ["172.16.1.8/32"])
            #expect(next.context.ipContext.excludedPrefixes.contains("10.96.0.0/12"))
        }
    }

    @Test("IPv6 pools hand out /128 pairs")
    func ipv6() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-6", node: 0, services: ["svc-6"], cidr: ["fd00:6::/120", "172.16.6.0/24"])
            let connection = try #require(try await mesh.client("kernel://svc-6/nsm-1", name: "pod-6").connect().first)
            #expect(Set(connection.context.ipContext.srcIpAddrs) == ["fd00:6::1/128", "172.16.6.1/32"])
            #expect(Set(connection.context.ipContext.dstIpAddrs) == ["fd00:6::/128", "172.16.6.0/32"])
        }
    }

    @Test("200 concurrent requests get 200 distinct address pairs")
    func concurrentRequests() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-c", node: 0, services: ["svc-c"], cidr: ["10.20.0.0/20"])
            let count = Int(ProcessInfo.processInfo.environment["NSM_TEST_CONCURRENCY"] ?? "200")!
            let clients = try (0..<count).map { try mesh.client("kernel://svc-c/nsm-1", name: "pod-\($0)") }
            let addresses = try await withThrowingTaskGroup(of: [String].self) { group in
                for client in clients { group.addTask { try await client.connect().first.map { $0.context.ipContext.srcIpAddrs + $0.context.ipContext.dstIpAddrs } ?? [] } }
                var all: [String] = []
                for try await pair in group { all += pair }
                return all
            }
            #expect(addresses.count == 2 * count)
            #expect(Set(addresses).count == 2 * count)
        }
    }
}

extension Mesh {
    func runnerKill(_ handle: ServiceRunner.Handle) async { await runner.kill(handle) }
}
