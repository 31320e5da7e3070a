import Foundation
import Glibc
import IPAddressing
@testable import Netlink
import Testing

@Suite("Network namespaces", .enabled(if: isRoot, "needs root"))
struct NamespaceTests {
    @Test("create works like ip netns add: ip sees it, runs in it, and delete removes it")
    func createAndDelete() throws {
        let name = "nlt-\(getpid())-create"
        let namespace = try NetworkNamespace.create(named: name)
        defer { try? NetworkNamespace.delete(named: name) }
        #expect(try ip("netns", "list").contains(name))
        #expect(NetworkNamespace.names().contains(name))
        // ip netns exec enters it: its loopback is down and alone there.
        let links = try ipJSON(name, "link", "show")
        #expect(links.map { $0["ifname"] as? String } == ["lo"])
        #expect(try NetworkNamespace.open(named: name).identity == namespace.identity)
        #expect(try NetworkNamespace.current().identity != namespace.identity)
        try NetworkNamespace.delete(named: name)
        #expect(!(try ip("netns", "list").contains(name)))
        #expect(throws: NetlinkError.self) { try NetworkNamespace.open(named: name) }
    }

    @Test("creating an existing name fails with .exists and leaves it intact")
    func createTwice() throws {
        try withTestNamespace { name, namespace, _ in
            do {
                try NetworkNamespace.create(named: name)
                Issue.record("created twice")
            } catch let error as NetlinkError {
                #expect(error.code == .exists)
                #expect(error.description.contains("ip netns add \(name)"))
            }
            #expect(try NetworkNamespace.open(named: name).identity == namespace.identity)
        }
    }

    @Test("perform runs inside the namespace and leaves the calling thread where it was")
    func perform() throws {
        try withTestNamespace { _, namespace, _ in
            let before = try NetworkNamespace.current().identity
            let inside = try namespace.perform { () throws(NetlinkError) -> NamespaceIdentity in try NetworkNamespace.current().identity }
            #expect(inside == namespace.identity)
            #expect(try NetworkNamespace.current().identity == before)
        }
    }

    @Test("perform keeps other tasks out of the namespace under concurrency")
    func performUnderConcurrency() async throws {
        try await withTestNamespaceAsync { namespace in
            let host = try NetworkNamespace.current().identity
            try await withThrowingTaskGroup(of: (NamespaceIdentity, NamespaceIdentity).self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        let inside = try namespace.perform { () throws(NetlinkError) -> NamespaceIdentity in try NetworkNamespace.current().identity }
                        await Task.yield()
                        return (inside, try NetworkNamespace.current().identity)
                    }
                }
                for try await (inside, after) in group {
                    #expect(inside == namespace.identity)
                    #expect(after == host)
                }
            }
        }
    }

    @Test("resolver finds a namespace by inode URL, by file URL, and by pid")
    func resolver() throws {
        try withTestNamespace { name, namespace, _ in
            let resolver = NamespaceResolver()
            #expect(try resolver.open(url: namespace.identity.url).identity == namespace.identity)
            #expect(try resolver.open(url: namespace.identity.url).identity == namespace.identity)  // cached
            #expect(try resolver.open(url: "file:///run/netns/\(name)").identity == namespace.identity)
            #expect(try resolver.open(url: "/proc/self/ns/net").identity == NetworkNamespace.open(pid: getpid()).identity)
            do {
                _ = try resolver.open(url: "inode://1/1")
                Issue.record("resolved a bogus inode")
            } catch let error as NetlinkError { #expect(error.code == .notFound) }
            #expect(throws: NetlinkError.self) { try resolver.open(url: "netns-by-name") }
        }
    }

    @Test("resolver finds namespaces created after its last scan, also under a reused name, and forgets")
    func resolverRescan() throws {
        try withTestNamespace { firstName, first, _ in
            let resolver = NamespaceResolver()
            #expect(try resolver.open(first.identity).identity == first.identity)
            // A namespace that appears after the resolver has scanned /run/netns.
            try withTestNamespace { _, second, _ throws in
                let found = try resolver.open(second.identity)
                #expect(found.identity == second.identity)
            }
            // The first name deleted and made again: a new namespace behind a remembered name.
            let oldIdentity = first.identity
            try NetworkNamespace.delete(named: firstName)
            let again = try NetworkNamespace.create(named: firstName)
            #expect(again.identity != oldIdentity)
            resolver.forget(oldIdentity)
            #expect(try resolver.open(again.identity).identity == again.identity)
            #expect(throws: NetlinkError.self) { try resolver.open(oldIdentity) }
        }
    }

    @Test("resolver follows /run/netns: an entry that becomes a namespace after it was seen as a plain file is found")
    func resolverLateMount() throws {
        try withTestNamespace { primeName, prime, _ in
            let resolver = NamespaceResolver()
            #expect(try resolver.open(prime.identity).identity == prime.identity)
            // A plain file under /run/netns, seen by the resolver before anything is mounted on it
            // (what `ip netns add` leaves for a moment between making the file and mounting).
            let late = "\(primeName)-late", latePath = "\(NetworkNamespace.runDirectory)/\(late)"
            let fd = open(latePath, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
            try #require(fd >= 0, "cannot create \(latePath)")
            close(fd)
            defer {
                _ = try? run("/usr/bin/umount", ["-l", latePath])
                unlink(latePath)
            }
            #expect(throws: NetlinkError.self) { try resolver.open(NamespaceIdentity(device: 1, inode: 1)) }
            // Now a namespace reachable only through that file: made under another name, mounted
            // onto the file, its own name removed.
            let source = "\(primeName)-src"
            let made = try NetworkNamespace.create(named: source)
            try run("/usr/bin/mount", ["--bind", "\(NetworkNamespace.runDirectory)/\(source)", latePath])
            try NetworkNamespace.delete(named: source)
            let found = try resolver.open(made.identity)
            #expect(found.identity == made.identity)
            #expect(try resolver.open(url: made.identity.url).identity == made.identity)
        }
    }

    @Test("directory watch reads inotify records: names in order, overflow as lost")
    func directoryWatchRecords() {
        func record(mask: Int32, name: String) -> [UInt8] {
            var padded = Array(name.utf8)
            if !padded.isEmpty { padded += Array(repeating: 0, count: 16 - padded.count % 16) }
            func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }
            return le(1) + le(UInt32(bitPattern: mask)) + le(0) + le(UInt32(padded.count)) + padded
        }
        var changes = DirectoryWatch.Changes()
        let bytes = record(mask: Int32(IN_CREATE), name: "pod-a") + record(mask: Int32(IN_DELETE), name: "pod-a")
            + record(mask: Int32(IN_MOVED_TO), name: "a-name-of-exactly-32-bytes-long!")
        DirectoryWatch.parse(bytes[...], into: &changes)
        #expect(changes.events.map(\.name) == ["pod-a", "pod-a", "a-name-of-exactly-32-bytes-long!"])
        #expect(changes.events.map(\.added) == [true, false, true])
        #expect(!changes.lost)
        // A truncated record is not read past its end; an overflow says what is known is lost.
        DirectoryWatch.parse((record(mask: Int32(IN_Q_OVERFLOW), name: "") + record(mask: Int32(IN_CREATE), name: "cut").dropLast(20))[...], into: &changes)
        #expect(changes.lost)
        #expect(changes.events.count == 3)
    }

    @Test("a handle opened without blocking the caller lives in the namespace, after its work ran there")
    func openingSuspends() async throws {
        let name = "nlt-\(getpid())-susp"
        let namespace = try NetworkNamespace.create(named: name)
        defer { try? NetworkNamespace.delete(named: name) }
        let host = try NetworkNamespace.open(pid: getpid()).identity
        let handle = try await NetlinkHandle.opening(namespace: namespace) { () throws(NetlinkError) in
            try NetworkNamespace.writeSysctl("net/ipv4/ping_group_range", "0 2147483647")
        }
        try handle.addVeth(name: "susp0", peer: VethPeer(name: "susp1"))
        #expect(try ip("-n", name, "-br", "link", "show", "susp0").contains("susp0"))
        #expect(try ip("netns", "exec", name, "cat", "/proc/sys/net/ipv4/ping_group_range").split(whereSeparator: \.isWhitespace) == ["0", "2147483647"])
        #expect(try NetworkNamespace.open(pid: getpid()).identity == host)
        // A failure inside comes back as the caller's error.
        await #expect(throws: NetlinkError.self) {
            _ = try await NetlinkHandle.opening(namespace: namespace) { () throws(NetlinkError) in
                try NetworkNamespace.writeSysctl("net/ipv4/no_such_sysctl", "1")
            }
        }
    }

    @Test("sysctls are written inside the namespace only")
    func sysctl() throws {
        try withTestNamespace { name, namespace, _ in
            try namespace.setSysctl("net.ipv4.ping_group_range", "0 2147483647")
            let inside = try run("/usr/sbin/ip", ["netns", "exec", name, "cat", "/proc/sys/net/ipv4/ping_group_range"])
            #expect(inside.split(whereSeparator: \.isWhitespace) == ["0", "2147483647"])
            #expect(try namespace.sysctl(["net", "ipv4", "ping_group_range"]).split(whereSeparator: \.isWhitespace) == ["0", "2147483647"])
            let host = try String(contentsOfFile: "/proc/sys/net/ipv4/ping_group_range", encoding: .utf8)
            #expect(host.split(whereSeparator: \.isWhitespace) != ["0", "2147483647"] || inside == host)
            try namespace.setSysctl(["net", "ipv6", "conf", "lo", "disable_ipv6"], "1")
            #expect(try namespace.sysctl(["net", "ipv6", "conf", "lo", "disable_ipv6"]) == "1")
            #expect(throws: NetlinkError.self) { try namespace.setSysctl(["net", "ipv4", "no_such_key"], "1") }
        }
    }
}

func withTestNamespaceAsync(_ body: (NetworkNamespace) async throws -> Void) async throws {
    let name = "nlt-\(getpid())-async-\(UInt32.random(in: 0...UInt32.max))"
    let namespace = try NetworkNamespace.create(named: name)
    do {
        try await body(namespace)
    } catch {
        try? NetworkNamespace.delete(named: name)
        throw error
    }
    try? NetworkNamespace.delete(named: name)
}
