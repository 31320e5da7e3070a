import Foundation
import Glibc
import IPAddressing
import Netlink
import NetlinkWire
import NSMAPI
import NSMDataPlane
import NSMElements
import NSMRuntime
import KernelTestSupport
import Testing

@Suite("The mesh with the kernel data plane, in real namespaces", .serialized, .enabled(if: isRoot, "needs root"))
struct KernelMeshTests {
    @Test("same node: a veth between pod and endpoint, addressed and routed, pingable, removed on close")
    func local() async throws {
        try await withPodAndEndpoint(underlay: "192.168.77.1") { mesh, spaces, pod, nse in
            try await mesh.addEndpoint("nse-k", node: 0, services: ["svc-k"], cidr: ["172.16.5.0/24"], routes: ["10.66.0.0/16"], namespaceURL: nse.identity.url)
            let client = try mesh.client("kernel://svc-k/nsm-1", name: "pod-k", namespace: pod)
            let connection = try #require(try await client.connect().first)
            #expect(try addresses(of: "nsm-1", in: spaces.name("pod")) == ["172.16.5.1/32"])
            #expect(connection.path.pathSegments.count == 4)
            let endpointLinks = try interfaceNames(spaces.name("nse")).filter { $0 != "lo" }
            #expect(endpointLinks.count == 1)
            #expect(try addresses(of: endpointLinks[0], in: spaces.name("nse")) == ["172.16.5.0/32"])
            let routes = try ipIn(spaces.name("pod"), ["ip", "route", "show"])
            #expect(routes.contains("172.16.5.0 dev nsm-1"))
            #expect(routes.contains("10.66.0.0/16 via 172.16.5.0 dev nsm-1"))
            // IPv4-only context: no IPv6 link-local address on either side (addrgenmode none).
            #expect(try ipv6Addresses(of: "nsm-1", in: spaces.name("pod")) == [])
            #expect(try ipv6Addresses(of: endpointLinks[0], in: spaces.name("nse")) == [])
            #expect(try ipIn(spaces.name("pod"), ["ip", "-d", "link", "show", "nsm-1"]).contains("addrgenmode none"))
            _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "172.16.5.0"])
            // A refresh re-applies without error and changes nothing.
            _ = try await client.connect()
            #expect(try addresses(of: "nsm-1", in: spaces.name("pod")) == ["172.16.5.1/32"])
            await client.closeAll()
            #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
            #expect(try interfaceNames(spaces.name("nse")) == ["lo"])
        }
    }

    @Test("data-path liveness: the link deleted under a live connection is noticed by its silence and requested again; traffic flows again")
    func livenessHeals() async throws {
        try await withPodAndEndpoint(underlay: "192.168.76.1") { mesh, spaces, pod, nse in
            try await mesh.addEndpoint("nse-l", node: 0, services: ["svc-l"], cidr: ["172.16.6.0/24"], namespaceURL: nse.identity.url)
            let client = try mesh.client("kernel://svc-l/nsm-1", name: "pod-l", namespace: pod,
                                         liveness: LivenessCheck(interval: .milliseconds(100), timeout: .milliseconds(500)))
            let runner = ServiceRunner()
            runner.start([client])
            await client.ready()
            _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "172.16.6.0"])
            try await waitUntil("the liveness check to get its first echo reply", seconds: 10) { client.answeringDataPaths == ["pod-l-0"] }
            // The endpoint's end of the veth goes (and with it the pod's): nothing in the control plane says so.
            let endpointLink = try #require(try interfaceNames(spaces.name("nse")).first { $0 != "lo" })
            _ = try ipIn(spaces.name("nse"), ["ip", "link", "del", endpointLink])
            #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
            try await waitUntil("the pod's interface to be back with its address", seconds: 15) {
                (try? addresses(of: "nsm-1", in: spaces.name("pod"))) == ["172.16.6.1/32"]
            }
            _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "172.16.6.0"])
            #expect(client.connections.first?.networkServiceEndpointName == "nse-l")
            await runner.stopAll()
            #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
        }
    }

    @Test("a second pod of the same endpoint gets its pair made while the endpoint answers; it is addressed and pingable")
    func earlyPair() async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node")
        let podA = try spaces.create("pa"), podB = try spaces.create("pb")
        let nse = try spaces.create("nse")
        let plane = KernelDataPlane(node: try NetlinkHandle(namespace: node))
        try await Mesh.with(nodes: 1, dataPlanes: [(plane, IPAddress("192.168.79.1")!)]) { mesh in
            try await mesh.addEndpoint("nse-e", node: 0, services: ["svc-e"], cidr: ["172.16.79.0/24"], namespaceURL: nse.identity.url)
            let first = try mesh.client("kernel://svc-e/nsm-1", name: "pod-a", namespace: podA)
            _ = try await first.connect()
            let second = try mesh.client("kernel://svc-e/nsm-1", name: "pod-b", namespace: podB)
            _ = try await second.connect()
            #expect(try addresses(of: "nsm-1", in: spaces.name("pb")) == ["172.16.79.3/32"])
            _ = try ipIn(spaces.name("pb"), ["ping", "-c", "1", "-W", "2", "172.16.79.2"])
            // The endpoint side is named by the forwarder: nse-<hash>.
            let endpointLinks = try interfaceNames(spaces.name("nse")).filter { $0 != "lo" }
            #expect(endpointLinks.count == 2 && endpointLinks.allSatisfy { $0.hasPrefix("nse-") })
            await second.closeAll()
            await first.closeAll()
            #expect(try interfaceNames(spaces.name("nse")) == ["lo"])
        }
        _ = node
    }

    @Test("same node, dual stack: both families addressed, the IPv6 link-local kept, ping over IPv6 works")
    func localDualStack() async throws {
        try await withPodAndEndpoint(underlay: "192.168.78.1") { mesh, spaces, pod, nse in
            try await mesh.addEndpoint("nse-d", node: 0, services: ["svc-d"], cidr: ["fd00:78::/120", "172.16.78.0/24"], namespaceURL: nse.identity.url)
            let client = try mesh.client("kernel://svc-d/nsm-1", name: "pod-d", namespace: pod)
            _ = try #require(try await client.connect().first)
            #expect(Set(try addresses(of: "nsm-1", in: spaces.name("pod"))) == ["fd00:78::1/128", "172.16.78.1/32"])
            #expect(try ipv6Addresses(of: "nsm-1", in: spaces.name("pod")).contains { $0.hasPrefix("fe80:") })
            _ = try ipIn(spaces.name("pod"), ["ping", "-6", "-c", "1", "-W", "3", "fd00:78::"])
            await client.closeAll()
        }
    }

    @Test("across nodes: VXLAN devices in the pod and endpoint namespaces over the nodes' underlay (IPv4 or IPv6); ping works; the MTU leaves room for the encapsulation",
          arguments: [("192.168.77.1", "192.168.77.2", 24, 1446), ("fd00:77::1", "fd00:77::2", 64, 1426)])
    func remote(addressA: String, addressB: String, length: Int, mtu: Int) async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let nodeA = try spaces.create("na"), nodeB = try spaces.create("nb")
        let pod = try spaces.create("pod"), nse = try spaces.create("nse")
        // Underlay: a veth between the two nodes.
        let a = try NetlinkHandle(namespace: nodeA), b = try NetlinkHandle(namespace: nodeB)
        try a.addVeth(name: "ul0", peer: VethPeer(name: "ul0", namespace: nodeB), options: LinkOptions(up: true))
        // No duplicate address detection on the underlay: an IPv6 address is usable at once.
        try a.addAddress(IPPrefix("\(addressA)/\(length)")!, index: a.link(named: "ul0").index, flags: .noDAD)
        let bIndex = try b.link(named: "ul0").index
        try b.execute(batch: [.addAddress(IPPrefix("\(addressB)/\(length)")!, index: bIndex, flags: .noDAD), .setUp(index: bIndex)])
        let planes: [(plane: any ForwarderDataPlane, tunnelIP: IPAddress)] = [
            (KernelDataPlane(node: a), IPAddress(addressA)!), (KernelDataPlane(node: b), IPAddress(addressB)!),
        ]
        try await Mesh.with(nodes: 2, dataPlanes: planes) { mesh in
            try await mesh.addEndpoint("nse-r", node: 1, services: ["svc-r"], cidr: ["172.16.7.0/24"], namespaceURL: nse.identity.url)
            let client = try mesh.client("kernel://svc-r/nsm-1", node: 0, name: "pod-r", namespace: pod)
            let connection = try #require(try await client.connect().first)
            #expect(connection.path.pathSegments.count == 6)
            let json = try interfaceJSON(spaces.name("pod")).first { $0["ifname"] as? String == "nsm-1" }
            // The underlay's 1500 less VXLAN over IPv4 (54, upstream's figure) or over IPv6 (74).
            #expect(json?["mtu"] as? Int == mtu)
            #expect(try addresses(of: "nsm-1", in: spaces.name("pod")) == ["172.16.7.1/32"])
            let details = try ipIn(spaces.name("pod"), ["ip", "-d", "link", "show", "nsm-1"])
            #expect(details.contains("vxlan id") && details.contains("remote \(addressB)"))
            _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "3", "172.16.7.0"])
            await client.closeAll()
            #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
            #expect(try interfaceNames(spaces.name("nse")) == ["lo"])
        }
    }

    /// A one-node mesh on the kernel data plane (its node namespace's underlay address given),
    /// with a pod's and an endpoint's namespace; all of them removed after `body`, however it ends.
    func withPodAndEndpoint(
        underlay: String, _ body: @Sendable (Mesh, TestNamespaces, NetworkNamespace, NetworkNamespace) async throws -> Void
    ) async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node")
        let pod = try spaces.create("pod")
        let nse = try spaces.create("nse")
        let plane = KernelDataPlane(node: try NetlinkHandle(namespace: node))
        try await Mesh.with(nodes: 1, dataPlanes: [(plane, IPAddress(underlay)!)]) { mesh in try await body(mesh, spaces, pod, nse) }
    }
}
