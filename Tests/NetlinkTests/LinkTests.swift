import Foundation
import Glibc
import IPAddressing
import Netlink
import NetlinkWire
import Testing

@Suite("Links", .enabled(if: isRoot, "needs root"))
struct LinkTests {
    @Test("veth with the peer created directly in another namespace, named and up there")
    func vethAcrossNamespaces() throws {
        try withTestNamespace { node, _, nodeHandle in
            try withTestNamespace { pod, podNamespace, podHandle in
                try nodeHandle.addVeth(
                    name: "veth-n", peer: VethPeer(name: "nsm-1", namespace: podNamespace, mtu: 1446),
                    options: LinkOptions(mtu: 1446, up: true, group: 42, alias: "client-abc"))
                try podHandle.setUp(index: podHandle.link(named: "nsm-1").index)
                let hostEnd = try nodeHandle.link(named: "veth-n")
                #expect(hostEnd.kind == .veth)
                #expect(hostEnd.isUp && hostEnd.mtu == 1446 && hostEnd.group == 42 && hostEnd.alias == "client-abc")
                let podEnd = try podHandle.link(named: "nsm-1")
                #expect(podEnd.kind == .veth && podEnd.isUp && podEnd.mtu == 1446)
                #expect(podEnd.parentIndex == hostEnd.index)
                // Independently, through ip.
                let podLinks = try ipJSON(pod, "link", "show", "nsm-1")
                #expect(podLinks.first?["mtu"] as? Int == 1446)
                #expect((podLinks.first?["linkinfo"] as? [String: Any])?["info_kind"] as? String == "veth")
                #expect((podLinks.first?["flags"] as? [String])?.contains("UP") == true)
                let nodeLinks = try ipJSON(node, "link", "show", "veth-n")
                #expect(nodeLinks.first?["ifalias"] as? String == "client-abc")
                #expect(nodeLinks.first?["group"] as? String == "42")
                #expect(try !podHandle.links().contains { $0.name == "veth-n" })
            }
        }
    }

    @Test("set up/down, MTU, name, alias, group; get by index and list")
    func modify() throws {
        try withTestNamespace { name, _, handle in
            try handle.addVeth(name: "a0", peer: VethPeer(name: "b0"))
            let link = try handle.link(named: "a0")
            try handle.setUp(index: link.index)
            try handle.setMTU(index: link.index, 1400)
            try handle.rename(index: link.index, to: "a1")
            try handle.setAlias(index: link.index, "renamed")
            try handle.setGroup(index: link.index, 7)
            let changed = try handle.link(index: link.index)
            #expect(changed.name == "a1" && changed.mtu == 1400 && changed.alias == "renamed" && changed.group == 7)
            let json = try ipJSON(name, "link", "show", "a1")
            #expect(json.first?["mtu"] as? Int == 1400)
            try handle.setDown(index: link.index)
            #expect(try !handle.link(index: link.index).isUp)
            #expect(try Set(handle.links().map(\.name)) == ["lo", "a1", "b0"])
        }
    }

    @Test("bridge with a veth enslaved, then released")
    func bridgeAndMaster() throws {
        try withTestNamespace { name, _, handle in
            try handle.addBridge(name: "br-t", options: LinkOptions(up: true))
            try handle.addVeth(name: "p0", peer: VethPeer(name: "p1"))
            let bridge = try handle.link(named: "br-t")
            #expect(bridge.kind == .bridge)
            let port = try handle.link(named: "p0")
            try handle.setMaster(index: port.index, bridge.index)
            #expect(try handle.link(index: port.index).masterIndex == bridge.index)
            #expect(try ipJSON(name, "link", "show", "p0").first?["master"] as? String == "br-t")
            try handle.setMaster(index: port.index, nil)
            #expect(try handle.link(index: port.index).masterIndex == nil)
        }
    }

    @Test("VXLAN with VNI, local, remote, port, underlay and learning off")
    func vxlan() throws {
        try withTestNamespace { name, _, handle in
            try handle.addBridge(name: "under0", options: LinkOptions(up: true))
            let underlay = try handle.link(named: "under0")
            try handle.addAddress(IPPrefix("192.0.2.1/24")!, index: underlay.index)
            let options = VXLANOptions(vni: 4242, local: IPAddress("192.0.2.1"), remote: IPAddress("192.0.2.2"), port: 4789, underlayIndex: underlay.index)
            try handle.addVXLAN(name: "vx-t", options, options: LinkOptions(mtu: 1450, up: true))
            let link = try handle.link(named: "vx-t")
            guard case .vxlan(let read) = link.kind else { Issue.record("kind \(String(describing: link.kind))"); return }
            #expect(read.vni == 4242 && read.port == 4789 && !read.learning)
            #expect(read.local == IPAddress("192.0.2.1") && read.remote == IPAddress("192.0.2.2"))
            #expect(read.underlayIndex == underlay.index)
            let info = try ipJSON(name, "link", "show", "vx-t").first?["linkinfo"] as? [String: Any]
            let data = info?["info_data"] as? [String: Any]
            #expect(data?["id"] as? Int == 4242)
            #expect(data?["remote"] as? String == "192.0.2.2")
            #expect(data?["port"] as? Int == 4789)
            #expect(data?["learning"] as? Bool == false)
        }
    }

    @Test("dummy: created where the kernel has it, otherwise the kernel's refusal is reported")
    func dummy() throws {
        try withTestNamespace { name, _, handle in
            do {
                try handle.addDummy(name: "dm0")
                #expect(try handle.link(named: "dm0").kind == .dummy)
                #expect((try ipJSON(name, "link", "show", "dm0").first?["linkinfo"] as? [String: Any])?["info_kind"] as? String == "dummy")
            } catch let error as NetlinkError {
                // Kernels built without CONFIG_DUMMY (as this project's CI machine) answer EOPNOTSUPP.
                #expect(error.code == .unsupported)
                #expect(error.description.contains("ip link add dm0 type dummy"))
                #expect(error.description.contains("Unknown device type"))
                #expect(throws: ToolError.self) { try ip("-n", name, "link", "add", "dm1", "type", "dummy") }
            }
        }
    }

    @Test("moving a link to another namespace renames it there")
    func moveToNamespace() throws {
        try withTestNamespace { _, _, nodeHandle in
            try withTestNamespace { pod, podNamespace, podHandle in
                try nodeHandle.addVeth(name: "m0", peer: VethPeer(name: "m1"))
                let link = try nodeHandle.link(named: "m1")
                try nodeHandle.setNamespace(index: link.index, podNamespace, name: "moved")
                #expect(try podHandle.link(named: "moved").kind == .veth)
                #expect(try ipJSON(pod, "link", "show", "moved").count == 1)
                #expect(throws: NetlinkError.self) { try nodeHandle.link(named: "m1") }
            }
        }
    }

    @Test("delete one link, and a whole group in one call")
    func delete() throws {
        try withTestNamespace { name, _, handle in
            for index in 0..<5 {
                try handle.addVeth(name: "g\(index)", peer: VethPeer(name: "h\(index)"), options: LinkOptions(group: 99))
            }
            try handle.addVeth(name: "keep", peer: VethPeer(name: "keep-peer"))
            try handle.deleteLink(named: "g0")
            #expect(throws: NetlinkError.self) { try handle.link(named: "h0") }
            try handle.deleteLinks(group: 99)
            let remaining = try Set(ipJSON(name, "link", "show").compactMap { $0["ifname"] as? String })
            #expect(remaining == ["lo", "keep", "keep-peer"])
            try handle.deleteLinks(group: 99)  // empty group: no error
        }
    }

    @Test("errors carry the code, the operation and the kernel's message")
    func errors() throws {
        try withTestNamespace { _, _, handle in
            try handle.addVeth(name: "dup", peer: VethPeer(name: "dup-peer"))
            do {
                try handle.addVeth(name: "dup", peer: VethPeer(name: "other"))
                Issue.record("created a duplicate")
            } catch let error as NetlinkError {
                #expect(error.code == .exists)
                #expect(error.errno == EEXIST)
                #expect(error.description.hasPrefix("ip link add dup type veth peer name other: File exists"))
            }
            do {
                _ = try handle.link(named: "missing0")
                Issue.record("found a missing link")
            } catch let error as NetlinkError { #expect(error.code == .notFound) }
            do {
                try handle.addVXLAN(name: "vx-bad", VXLANOptions(vni: 1 << 24))
                Issue.record("accepted a 25-bit VNI")
            } catch let error as NetlinkError {
                #expect(error.code == .invalidArgument)
                #expect(error.message?.isEmpty == false, "kernel gave no extended ack: \(error)")
            }
            let link = try handle.link(named: "dup")
            do {
                try handle.setMTU(index: link.index, 70_000)
                Issue.record("accepted MTU 70000")
            } catch let error as NetlinkError {
                #expect(error.code == .invalidArgument)
                #expect(error.description.contains("mtu 70000"))
            }
        }
    }

    @Test("one handle used by many tasks at once")
    func concurrentUse() async throws {
        try await withTestNamespaceAsync { namespace in
            let handle = try NetlinkHandle(namespace: namespace)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask { try handle.addVeth(name: "c\(index)", peer: VethPeer(name: "d\(index)"), options: LinkOptions(up: true)) }
                }
                try await group.waitForAll()
            }
            let names = try Set(handle.links().map(\.name))
            #expect((0..<40).allSatisfy { names.contains("c\($0)") && names.contains("d\($0)") })
        }
    }

    @Test("a batch applies every request in one send and reports the failing one")
    func batch() throws {
        try withTestNamespace { name, _, handle in
            try handle.addVeth(name: "bt0", peer: VethPeer(name: "bt1"))
            let link = try handle.link(named: "bt0")
            try handle.execute(batch: [
                .setMTU(index: link.index, 1300), .setAlias(index: link.index, "batched"), .setUp(index: link.index),
            ])
            let read = try handle.link(index: link.index)
            #expect(read.mtu == 1300 && read.alias == "batched" && read.isUp)
            do {
                try handle.execute(batch: [.setMTU(index: link.index, 1200), .deleteLink(named: "nope0"), .setAlias(index: link.index, "after")])
                Issue.record("batch with a bad request succeeded")
            } catch let error as NetlinkError {
                #expect(error.operation == "ip link delete nope0")
            }
            #expect(try handle.link(index: link.index).alias == "after")
            #expect(try ipJSON(name, "link", "show", "bt0").first?["mtu"] as? Int == 1200)
        }
    }
}
