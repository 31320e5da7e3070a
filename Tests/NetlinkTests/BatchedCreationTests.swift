import Foundation
import Glibc
import IPAddressing
import Netlink
import NetlinkWire
import Testing

@Suite("Creation with chosen indices", .enabled(if: isRoot, "needs root"))
struct BatchedCreationTests {
    @Test("a veth, its address and its route in one sendmsg, the peer configured from its own namespace")
    func attachInTwoBatches() throws {
        try withTestNamespace { node, _, nodeHandle in
            try withTestNamespace { pod, podNamespace, _ in
                let gateway = IPPrefix("169.254.0.1/32")!, address = IPPrefix("10.200.0.9/32")!
                try nodeHandle.execute(batch: [
                    .addVeth(name: "nsmv9", peer: VethPeer(name: "nsm-1", namespace: podNamespace, index: 300),
                             options: LinkOptions(up: true, group: 5, index: 7000)),
                    .addAddress(gateway, index: 7000),
                    .addRoute(Route(destination: address, outputIndex: 7000)),
                ])
                try NetlinkHandle(namespace: podNamespace).execute(batch: [
                    .addAddress(address, index: 300), .setUp(index: 300), .addRoute(Route(destination: gateway, outputIndex: 300)),
                ])
                let podLink = try ipJSON(pod, "addr", "show", "dev", "nsm-1").first
                #expect(podLink?["ifindex"] as? Int == 300)
                #expect(((podLink?["addr_info"] as? [[String: Any]]) ?? []).contains { $0["local"] as? String == "10.200.0.9" })
                #expect(try ipJSON(node, "route", "show").contains { $0["dst"] as? String == "10.200.0.9" && $0["dev"] as? String == "nsmv9" })
                // The data path works: the node end reaches the pod end.
                _ = try run("/usr/sbin/ip", ["netns", "exec", node, "ping", "-c", "1", "-W", "2", "10.200.0.9"])
            }
        }
    }

    @Test("asking for a taken index is refused and creates nothing")
    func takenIndex() throws {
        try withTestNamespace { name, _, handle in
            try handle.addVeth(name: "i0", peer: VethPeer(name: "i1"), options: LinkOptions(index: 500))
            do {
                try handle.addVeth(name: "j0", peer: VethPeer(name: "j1"), options: LinkOptions(index: 500))
                Issue.record("index reused")
            } catch let error as NetlinkError {
                #expect(error.code == .exists || error.code == .busy)  // EEXIST on 6.x kernels, EBUSY on older ones
            }
            #expect(try !ipJSON(name, "link", "show").contains { $0["ifname"] as? String == "j0" })
        }
    }

    @Test("namespace work nested inside namespace work does not deadlock")
    func nestedPerform() throws {
        try withTestNamespace { _, outer, _ in
            try withTestNamespace { _, inner, _ in
                let seen = try outer.perform { () throws(NetlinkError) -> [NamespaceIdentity] in
                    let here = try NetworkNamespace.current().identity
                    let there = try inner.perform { () throws(NetlinkError) -> NamespaceIdentity in try NetworkNamespace.current().identity }
                    return [here, there, try NetworkNamespace.current().identity]
                }
                #expect(seen == [outer.identity, inner.identity, outer.identity])
            }
        }
    }
}

@Suite("Request builders")
struct RequestBuilderTests {
    @Test("each request names the ip command it is equivalent to")
    func operations() {
        #expect(NetlinkRequest.addVeth(name: "a", peer: VethPeer(name: "b")).operation == "ip link add a type veth peer name b")
        #expect(NetlinkRequest.addVXLAN(name: "vx", VXLANOptions(vni: 7, remote: IPAddress("192.0.2.2"))).operation
            == "ip link add vx type vxlan id 7 dstport 4789 remote 192.0.2.2")
        #expect(NetlinkRequest.addAddress(IPPrefix("10.0.0.1/32")!, index: 3).operation == "ip addr add 10.0.0.1/32 dev 3")
        #expect(NetlinkRequest.replaceRoute(Route(destination: IPPrefix("10.1.2.3/16")!, gateway: IPAddress("10.0.0.1"), outputIndex: 3, onlink: true)).operation
            == "ip route replace 10.1.0.0/16 via 10.0.0.1 dev 3 onlink")
        #expect(NetlinkRequest.deleteLinks(group: 9).operation == "ip link delete group 9")
    }

    @Test("a veth request nests the peer's ifinfomsg and name inside IFLA_LINKINFO")
    func vethBytes() throws {
        let request = NetlinkRequest.addVeth(name: "a", peer: VethPeer(name: "b", index: 12), options: LinkOptions(up: true, index: 11))
        let (header, attributes) = try request.message.decode(InterfaceInfoHeader.self)
        #expect(header.index == 11 && header.flags == .up && header.change == .up)
        #expect(request.message.flags.isSuperset(of: [.create, .exclusive]))
        let info = try #require(attributes.first(LinkAttribute.linkInfo)).children()
        #expect(info.first(LinkInfoAttribute.kind)?.stringValue == "veth")
        let peer = try #require(info.first(LinkInfoAttribute.data)?.children().first(VethAttribute.peer))
        var reader = ByteReader(peer.value[...], context: "peer")
        let peerHeader = try InterfaceInfoHeader(from: &reader)
        #expect(peerHeader.index == 12)
        let peerAttributes = try NetlinkAttribute.decodeList(peer.value[InterfaceInfoHeader.size...], context: "peer")
        #expect(peerAttributes.first(LinkAttribute.name)?.stringValue == "b")
    }

    @Test("an address request carries IFA_LOCAL, IFA_ADDRESS and permanent flags")
    func addressBytes() throws {
        let request = NetlinkRequest.addAddress(IPPrefix("fd00::2/128")!, index: 4, flags: .noDAD)
        let (header, attributes) = try request.message.decode(AddressHeader.self)
        #expect(header.family == AddressFamily.inet6 && header.prefixLength == 128 && header.index == 4)
        #expect(attributes.first(AddressAttribute.local)?.value == IPAddress("fd00::2")!.bytes)
        #expect(attributes.first(AddressAttribute.flags)?.uint32Value == AddressFlags([.noDAD, .permanent]).rawValue)
    }
}
