import Foundation
import GRPCCore
import SwiftProtobuf
import IPAddressing
import Netlink
import NSMAPI
import NSMCore
import NSMDataPlane
import NSMElements
import NSMRuntime
import KernelTestSupport
import Testing

/// A pod's services must never share an address or a route, even when their endpoints hand out
/// the same pool and the requests run at the same moment; and a Request that reuses a live
/// connection's id must never damage its interface.
@Suite("Collisions in the pod's namespace", .serialized, .enabled(if: isRoot, "needs root"))
struct PodPrefixCollisionTests {
    @Test("two endpoints on the same pool, one pod asking for both at once: each endpoint reachable through its own interface",
          arguments: 1...3)
    func overlappingPools(round: Int) async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node"), pod = try spaces.create("pod")
        let nseA = try spaces.create("nsea"), nseB = try spaces.create("nseb")
        let plane = KernelDataPlane(node: try NetlinkHandle(namespace: node))
        try await Mesh.with(nodes: 1, dataPlanes: [(plane, IPAddress("192.168.81.1")!)]) { mesh in
            try await mesh.addEndpoint("nse-pa", node: 0, services: ["svc-pa"], cidr: ["172.16.1.0/24"], namespaceURL: nseA.identity.url)
            try await mesh.addEndpoint("nse-pb", node: 0, services: ["svc-pb"], cidr: ["172.16.1.0/24"], namespaceURL: nseB.identity.url)
            let client = try mesh.client("kernel://svc-pa/nsm-a, kernel://svc-pb/nsm-b", name: "pod-p\(round)", namespace: pod)
            let connections = try await client.connect()
            #expect(connections.count == 2)
            // Neither endpoint serves DNS, so neither may advertise any (a silent DNS server holds every negative answer).
            #expect(connections.allSatisfy { $0.context.dnsContext.configs.isEmpty })
            let a = try addresses(of: "nsm-a", in: spaces.name("pod")), b = try addresses(of: "nsm-b", in: spaces.name("pod"))
            #expect(a.count == 1 && b.count == 1 && Set(a).isDisjoint(with: b))
            // Each endpoint's own address, through the interface that leads to it.
            for (connection, interface) in zip(connections, ["nsm-a", "nsm-b"]) {
                let peer = try #require(try connection.context.ipContext.destinationPrefixes().first).address
                let state = try ipIn(spaces.name("pod"), ["ip", "addr"]) + (try ipIn(spaces.name("pod"), ["ip", "route"]))
                let route = try #require(try? ipIn(spaces.name("pod"), ["ip", "route", "get", "\(peer)"]), "no route to \(peer) in the pod: \(state)")
                #expect(route.contains("dev \(interface)"), "route to \(peer): \(route)")
                _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "\(peer)"])
            }
            await client.closeAll()
            #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
        }
        _ = node
    }
}

@Suite("A restarted client's Request", .serialized, .enabled(if: isRoot, "needs root"))
struct RestartedClientRequestTests {
    @Test("the same id with an empty path takes over the live connection: same path, same interface, still pingable")
    func sameIDEmptyPath() async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node"), pod = try spaces.create("pod"), nse = try spaces.create("nse")
        let plane = KernelDataPlane(node: try NetlinkHandle(namespace: node))
        try await Mesh.with(nodes: 1, dataPlanes: [(plane, IPAddress("192.168.83.1")!)]) { mesh in
            try await mesh.addEndpoint("nse-rs", node: 0, services: ["svc-rs"], cidr: ["172.16.83.0/24"], namespaceURL: nse.identity.url)
            let request = Networkservice_NetworkServiceRequest(connection: .with {
                $0.id = "restarted-0"
                $0.networkService = "svc-rs"
            }, preferences: [.kernel(interfaceName: "nsm-1", namespace: NamespaceURL(pod.identity.url))])
            let remote = try await GRPCDialer(pool: mesh.pool(speakingFor: pod), timeout: .seconds(10)).peer(for: mesh.nodes[0].managerUnix)
            let first = try await remote.request(request)
            let second = try await remote.request(request)
            #expect(second.path.pathSegments.map(\.id) == first.path.pathSegments.map(\.id))
            #expect(second.context.ipContext.srcIpAddrs == first.context.ipContext.srcIpAddrs)
            let forwarderID = first.path.pathSegments[1].id
            #expect(try ipIn(spaces.name("pod"), ["ip", "-d", "link", "show", "nsm-1"]).contains("alias client-\(forwarderID)"))
            #expect(try interfaceNames(spaces.name("nse")).filter { $0 != "lo" }.count == 1)
            _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "172.16.83.0"])
            try await remote.close(second)
            #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
        }
        _ = node
    }
}
