import Foundation
import Glibc
import IPAddressing
import Netlink
import NetlinkWire
import Testing

@Suite("Addresses, routes and neighbours", .enabled(if: isRoot, "needs root"))
struct AddressRouteTests {
    /// A veth pair `t0`/`t1` in one namespace, both up, returning t0's index.
    func pair(_ handle: NetlinkHandle) throws -> Int32 {
        try handle.addVeth(name: "t0", peer: VethPeer(name: "t1"), options: LinkOptions(up: true))
        try handle.setUp(index: handle.link(named: "t1").index)
        return try handle.link(named: "t0").index
    }

    @Test("IPv4 and IPv6 addresses: add (permanent, nodad), list, replace, delete")
    func addresses() throws {
        try withTestNamespace { name, _, handle in
            let index = try pair(handle)
            try handle.addAddress(IPPrefix("172.16.1.7/32")!, index: index)
            try handle.addAddress(IPPrefix("fd00::7/128")!, index: index, flags: .noDAD)
            try handle.addAddress(IPPrefix("172.16.1.7/32")!, index: index, replace: true)  // idempotent
            let listed = try handle.addresses(index: index).filter { !($0.prefix.address.family == .v6 && IPv6Address("\($0.prefix.address)")!.isLinkLocal) }
            #expect(Set(listed.map(\.prefix)) == [IPPrefix("172.16.1.7/32")!, IPPrefix("fd00::7/128")!])
            let v6 = try #require(listed.first { $0.prefix.family == .v6 })
            #expect(v6.flags.contains(.noDAD) && v6.flags.contains(.permanent) && !v6.flags.contains(.tentative))
            let json = try ipJSON(name, "addr", "show", "dev", "t0")
            let infos = (json.first?["addr_info"] as? [[String: Any]]) ?? []
            #expect(infos.contains { $0["local"] as? String == "172.16.1.7" && $0["prefixlen"] as? Int == 32 })
            #expect(infos.contains { $0["local"] as? String == "fd00::7" && $0["nodad"] as? Bool == true })
            do {
                try handle.addAddress(IPPrefix("172.16.1.7/32")!, index: index)
                Issue.record("added twice")
            } catch let error as NetlinkError { #expect(error.code == .exists) }
            try handle.deleteAddress(IPPrefix("172.16.1.7/32")!, index: index)
            #expect(try handle.addresses(family: .v4, index: index).isEmpty)
        }
    }

    @Test("routes: link scope, via gateway, onlink, replace, other table, delete")
    func routes() throws {
        try withTestNamespace { name, _, handle in
            let index = try pair(handle)
            try handle.addAddress(IPPrefix("172.16.1.7/32")!, index: index)
            let peer = Route(destination: IPPrefix("172.16.1.6/32")!, outputIndex: index)
            #expect(peer.scope == .link)
            try handle.addRoute(peer)
            let viaPeer = Route(destination: IPPrefix("10.20.0.9/16")!, gateway: IPAddress("172.16.1.6"), outputIndex: index)
            try handle.addRoute(viaPeer)
            let onlink = Route(destination: IPPrefix("10.30.0.0/16")!, gateway: IPAddress("192.0.2.1"), outputIndex: index, onlink: true)
            try handle.addRoute(onlink)
            try handle.replaceRoute(onlink)  // idempotent
            try handle.addRoute(Route(destination: IPPrefix("10.40.0.0/16")!, outputIndex: index, table: 100))
            try handle.addAddress(IPPrefix("fd00::7/128")!, index: index, flags: .noDAD)
            try handle.addRoute(Route(destination: IPPrefix("fd00::6/128")!, outputIndex: index))

            let main = try handle.routes(family: .v4)
            #expect(main.contains { $0.destination == IPPrefix("172.16.1.6/32")! && $0.scope == .link && $0.outputIndex == index })
            #expect(main.contains { $0.destination == IPPrefix("10.20.0.0/16")! && $0.gateway == IPAddress("172.16.1.6") })
            #expect(main.contains { $0.destination == IPPrefix("10.30.0.0/16")! && $0.onlink })
            #expect(try handle.routes(family: .v4, table: 100).map(\.destination) == [IPPrefix("10.40.0.0/16")!])
            #expect(try handle.routes(family: .v6).contains { $0.destination == IPPrefix("fd00::6/128")! })

            let json = try ipJSON(name, "route", "show")
            #expect(json.contains { $0["dst"] as? String == "10.20.0.0/16" && $0["gateway"] as? String == "172.16.1.6" })
            #expect(json.contains { $0["dst"] as? String == "10.30.0.0/16" && ($0["flags"] as? [String])?.contains("onlink") == true })
            #expect(json.contains { $0["dst"] as? String == "172.16.1.6" && $0["scope"] as? String == "link" })
            #expect(try ipJSON(name, "route", "show", "table", "100").first?["dst"] as? String == "10.40.0.0/16")

            try handle.deleteRoute(viaPeer)
            #expect(try !handle.routes(family: .v4).contains { $0.destination == IPPrefix("10.20.0.0/16")! })
            do {
                try handle.addRoute(Route(destination: IPPrefix("10.50.0.0/16")!, gateway: IPAddress("203.0.113.1"), outputIndex: index))
                Issue.record("accepted an unreachable gateway without onlink")
            } catch let error as NetlinkError {
                #expect(error.code == .invalidArgument || error.code == .other)
                #expect(error.description.contains("ip route add 10.50.0.0/16 via 203.0.113.1"))
            }
        }
    }

    @Test("a permanent neighbour entry")
    func neighbor() throws {
        try withTestNamespace { name, _, handle in
            let index = try pair(handle)
            let mac: [UInt8] = [0x02, 0xfe, 0, 0, 0, 0x01]
            try handle.addNeighbor(IPAddress("172.16.1.6")!, hardwareAddress: mac, index: index)
            #expect(try handle.neighbors(family: .v4).contains { $0.address == IPAddress("172.16.1.6")! && $0.hardwareAddress == mac && $0.state.contains(.permanent) })
            let json = try ipJSON(name, "neigh", "show", "dev", "t0")
            #expect(json.contains { $0["dst"] as? String == "172.16.1.6" && $0["lladdr"] as? String == "02:fe:00:00:00:01" })
        }
    }
}
