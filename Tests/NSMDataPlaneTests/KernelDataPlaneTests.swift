import Foundation
import GRPCCore
import IPAddressing
import KernelTestSupport
import Netlink
import NSMAPI
import NSMCore
import NSMDataPlane
import NSMElements
import Testing

@Suite("Kernel data plane in real namespaces", .serialized, .enabled(if: isRoot, "needs root"))
struct KernelDataPlaneTests {
    @Test("an early pair is deleted when discarded, and replaced when the endpoint answers with other names")
    func earlyPairUndone() async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node"), pod = try spaces.create("pod"), nse = try spaces.create("nse")
        let plane = KernelDataPlane(node: try NetlinkHandle(namespace: node))
        let incoming = Connection_Mechanism.kernel(interfaceName: "nsm-9", namespace: NamespaceURL(pod.identity.url))
        let expected = Connection_Mechanism.kernel(interfaceName: "nse-early", namespace: NamespaceURL(nse.identity.url))
        // Made early, then discarded (the endpoint refused): nothing left on either side.
        let refused = try #require(try await plane.prepare(incoming, expecting: expected))
        #expect(try interfaceNames(spaces.name("pod")).contains("nsm-9"))
        #expect(try interfaceNames(spaces.name("nse")).contains("nse-early"))
        await plane.discard(refused)
        #expect(try interfaceNames(spaces.name("pod")) == ["lo"])
        #expect(try interfaceNames(spaces.name("nse")) == ["lo"])
        // Made early, but the endpoint answered with another interface name: the pair is remade.
        let prepared = try await plane.prepare(incoming, expecting: expected)
        var context = Connectioncontext_ConnectionContext()
        context.ipContext.srcIpAddrs = ["172.16.80.1/32"]
        context.ipContext.dstIpAddrs = ["172.16.80.0/32"]
        let outgoing = Connection_Mechanism.kernel(interfaceName: "nse-other", namespace: NamespaceURL(nse.identity.url))
        try await plane.connect(Plumbing(connectionID: "c-undo", incoming: incoming, outgoing: outgoing, context: context), prepared: prepared)
        #expect(try interfaceNames(spaces.name("nse")) == ["lo", "nse-other"])
        #expect(try addresses(of: "nsm-9", in: spaces.name("pod")) == ["172.16.80.1/32"])
        _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "172.16.80.0"])
    }

    @Test("the data plane refuses a route or address another connection holds in the pod, and changes nothing")
    func dataPlaneRefusesTakeover() async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node"), pod = try spaces.create("pod"), nse = try spaces.create("nse")
        let plane = KernelDataPlane(node: try NetlinkHandle(namespace: node))
        var context = Connectioncontext_ConnectionContext()
        context.ipContext.srcIpAddrs = ["172.16.82.1/32"]
        context.ipContext.dstIpAddrs = ["172.16.82.0/32"]
        let first = Plumbing(
            connectionID: "conn-1", incoming: .kernel(interfaceName: "nsm-1", namespace: NamespaceURL(pod.identity.url)),
            outgoing: .kernel(interfaceName: "nse-1", namespace: NamespaceURL(nse.identity.url)), context: context)
        try await plane.connect(first)
        let second = Plumbing(
            connectionID: "conn-2", incoming: .kernel(interfaceName: "nsm-2", namespace: NamespaceURL(pod.identity.url)),
            outgoing: .kernel(interfaceName: "nse-2", namespace: NamespaceURL(nse.identity.url)), context: context)
        let error = await #expect(throws: NSMError.self) { try await plane.connect(second) }
        #expect(error?.code == .alreadyExists)
        #expect(error?.message.contains("nsm-1") == true)
        // Nothing made for the second, nothing moved from the first.
        #expect(try interfaceNames(spaces.name("pod")) == ["lo", "nsm-1"])
        #expect(try ipIn(spaces.name("pod"), ["ip", "route", "get", "172.16.82.0"]).contains("dev nsm-1"))
        // A Request for the same interface under another connection id leaves it as it was.
        let thief = Plumbing(connectionID: "conn-3", incoming: first.incoming, outgoing: .kernel(interfaceName: "nse-3", namespace: NamespaceURL(nse.identity.url)),
                             context: Connectioncontext_ConnectionContext())
        let refused = await #expect(throws: NSMError.self) { try await plane.connect(thief) }
        #expect(refused?.code == .alreadyExists && refused?.message.contains("conn-1") == true)
        #expect(try ipIn(spaces.name("pod"), ["ip", "-d", "link", "show", "nsm-1"]).contains("alias client-conn-1"))
        #expect(try interfaceNames(spaces.name("nse")) == ["lo", "nse-1"])
        _ = try ipIn(spaces.name("pod"), ["ping", "-c", "1", "-W", "2", "172.16.82.0"])
        _ = node
    }

    @Test("an endpoint's tunnel end: made again with the same MAC, a stale one of the connection (another VNI) replaced, its namespace let go with its last connection")
    func tunnelEndpointSide() async throws {
        let spaces = TestNamespaces()
        defer { spaces.removeAll() }
        let node = try spaces.create("node"), nse = try spaces.create("nse")
        let underlay = try NetlinkHandle(namespace: node)
        // The node's underlay: a veth pair (dummy devices are not available everywhere).
        try underlay.addVeth(name: "eth0", peer: VethPeer(name: "eth1"), options: LinkOptions(up: true))
        let eth0 = try underlay.link(named: "eth0")
        try underlay.addAddress(IPPrefix("10.250.0.1/24")!, index: eth0.index)
        try underlay.setUp(index: try underlay.link(named: "eth1").index)
        let plane = KernelDataPlane(node: underlay)
        var tunnel = Connection_Mechanism.vxlan(sourceIP: IPAddress("10.250.0.2")!)
        tunnel.vxlanDestinationIP = IPAddress("10.250.0.1")!
        tunnel.vni = 4242
        var context = Connectioncontext_ConnectionContext()
        context.ipContext.srcIpAddrs = ["172.16.84.1/32"]
        context.ipContext.dstIpAddrs = ["172.16.84.0/32"]
        let outgoing = Connection_Mechanism.kernel(interfaceName: "nse-t", namespace: NamespaceURL(nse.identity.url))
        let plumbing = Plumbing(connectionID: "c-tunnel", incoming: tunnel, outgoing: outgoing, context: context)
        try await plane.connect(plumbing)
        let nseHandle = try NetlinkHandle(namespace: nse)
        let made = try nseHandle.link(named: "nse-t")
        #expect(made.hardwareAddress.first == 0x02)  // locally administered, chosen by us
        #expect(plane.keptEndpointNamespaces == 1)

        // Deleted behind the data plane's back, then the same Request: made again, same MAC (the
        // far side's neighbour entry for this end stays right).
        try nseHandle.deleteLink(named: "nse-t")
        try await plane.connect(plumbing)
        #expect(try nseHandle.link(named: "nse-t").hardwareAddress == made.hardwareAddress)

        // The path's VNI changed (a restarted peer chose anew): the connection's old device is
        // replaced, not left to block the new one.
        var renewed = tunnel
        renewed.vni = 4343
        let moved = Plumbing(connectionID: "c-tunnel", incoming: renewed, outgoing: outgoing, context: context)
        try await plane.connect(moved)
        #expect(try ipIn(spaces.name("nse"), ["ip", "-d", "link", "show", "nse-t"]).contains("vxlan id 4343"))
        #expect(try addresses(of: "nse-t", in: spaces.name("nse")) == ["172.16.84.0/32"])

        // Another connection's device of that name is not taken over.
        let other = Plumbing(connectionID: "c-other", incoming: tunnel, outgoing: outgoing, context: context)
        let refused = await #expect(throws: NSMError.self) { try await plane.connect(other) }
        #expect(refused?.code == .failedPrecondition)

        // Closed: the interface is gone and the endpoint's namespace is no longer held open.
        try await plane.disconnect(moved)
        #expect(try interfaceNames(spaces.name("nse")) == ["lo"])
        #expect(plane.keptEndpointNamespaces == 0)
    }
}
