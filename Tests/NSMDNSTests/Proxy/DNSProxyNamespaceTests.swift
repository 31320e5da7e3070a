import IPAddressing
import Netlink
import NIOCore
@testable import NSMDNS
import Testing

/// The proxy with real sockets inside a network namespace of its own, in front of real zone
/// servers, queried by a real client from inside that namespace.
@Suite("DNS proxy in a network namespace", .enabled(if: isRoot, "needs root"), .serialized)
struct DNSProxyNamespaceTests {
    static let loopback = IPAddress("127.0.0.1")!

    /// Cluster zone (cluster.local, also knows both.example) and a service zone (svc.nsm, also
    /// both.example), each on its own port; a proxy in front (cluster for all, service scoped).
    func withMesh(_ body: (NetworkNamespace, DNSProxy, DNSClient, UInt16) async throws -> Void) async throws {
        try await withDNSNamespace { namespace in
            let enter: @Sendable () throws -> Void = { try namespace.moveCurrentThread() }
            var cluster = DNSZone(origin: try DNSName("cluster.local"), ttl: 60)
            try cluster.add(parsing: "web=10.1.1.1")
            for index in 1...100 { try cluster.add(parsing: "big=10.2.0.\(index)") }
            var service = DNSZone(origin: try DNSName("svc.nsm"), ttl: 60)
            try service.add(parsing: "db=172.16.1.5")
            let clusterServer = DNSZoneServer(zone: cluster, listen: [DNSListenAddress(host: "127.0.0.1", port: 0)], threadSetup: enter)
            let serviceServer = DNSZoneServer(zone: service, listen: [DNSListenAddress(host: "127.0.0.1", port: 0)], threadSetup: enter)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await clusterServer.run() }
                group.addTask { try await serviceServer.run() }
                defer { group.cancelAll() }
                _ = try await clusterServer.listeningAddresses()
                _ = try await serviceServer.listeningAddresses()
                let proxy = DNSProxy(.init(
                    listen: [DNSListenAddress(host: "127.0.0.1", port: 0)],
                    upstreams: [
                        DNSUpstream(address: Self.loopback, port: UInt16(clusterServer.listening[0].port)),
                        DNSUpstream(address: Self.loopback, port: UInt16(serviceServer.listening[0].port), domains: [try DNSName("svc.nsm")]),
                    ],
                    timeout: .seconds(2), threadSetup: enter))
                let port = UInt16(try await proxy.start()[0].port)
                let client = DNSClient(threadSetup: enter)
                do {
                    try await body(namespace, proxy, client, port)
                } catch {
                    await proxy.stop()
                    throw error
                }
                await proxy.stop()
            }
        }
    }

    func ask(_ client: DNSClient, _ port: UInt16, _ name: String, _ type: DNSType = .a, transport: DNSTransport = .udp, edns: UInt16? = nil) async throws -> DNSMessage {
        try await client.query(DNSQuestion(name: try DNSName(name), type: type), server: Self.loopback, port: port, transport: transport, udpPayloadSize: edns)
    }

    @Test("cluster names, scoped service names, NXDOMAIN with the SOA (then cached), metrics")
    func answers() async throws {
        try await withMesh { _, proxy, client, port in
            #expect(try await ask(client, port, "web.cluster.local").answers.map(\.data) == [.a(IPv4Address("10.1.1.1")!)])
            #expect(try await ask(client, port, "db.svc.nsm").answers.map(\.data) == [.a(IPv4Address("172.16.1.5")!)])
            let missing = try await ask(client, port, "nothing.svc.nsm")
            #expect(missing.rcode == .nxDomain)
            #expect(missing.authorities.first?.name.description == "svc.nsm.", "the scoped upstream's SOA")
            #expect(missing.edns == nil, "no OPT to a client that sent none")
            let again = try await ask(client, port, "nothing.svc.nsm")
            #expect(again.rcode == .nxDomain)
            let metrics = proxy.metrics
            #expect(metrics.cacheHits == 1)
            #expect(metrics.answers["NOERROR"] == 2 && metrics.answers["NXDOMAIN"] == 2)
            #expect(metrics.upstreams.count == 2)
            let text = try await client.query(DNSQuestion(name: try DNSName("metrics.nsm"), type: .txt, dnsClass: .chaos), server: Self.loopback, port: port)
            #expect(text.answers.first.map { "\($0.data)" }?.contains("cache.hits=1") == true)
        }
    }

    @Test("big answers: truncated over UDP without EDNS, whole over TCP and with a large EDNS buffer")
    func truncation() async throws {
        try await withMesh { _, proxy, client, port in
            let udp = try await ask(client, port, "big.cluster.local")
            #expect(udp.header.isTruncated && udp.answers.isEmpty)
            // The plain query went upstream with our 1232-byte OPT and came back truncated: retried over TCP.
            #expect(proxy.metrics.tcpRetries >= 1)
            let tcp = try await ask(client, port, "big.cluster.local", transport: .tcp)
            #expect(!tcp.header.isTruncated && tcp.answers.count == 100)
            // (The TCP client's query is retried too when it arrives before the first retry's whole answer is cached.)
            let retries = proxy.metrics.tcpRetries
            let edns = try await ask(client, port, "big.cluster.local", edns: 4096)
            #expect(!edns.header.isTruncated && edns.answers.count == 100 && edns.edns != nil)
            #expect(proxy.metrics.queries == 3)
            // The 4096-byte one was not truncated upstream: no retry.
            #expect(proxy.metrics.tcpRetries == retries)
        }
    }

    @Test("malformed queries get FORMERR and the proxy keeps serving")
    func malformed() async throws {
        try await withMesh { _, _, client, port in
            let garbage: [UInt8] = [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1]
            let answer = try DNSMessage(bytes: try await client.exchange(garbage, server: Self.loopback, port: port))
            #expect(answer.header.id == 0xabcd && answer.rcode == .formErr)
            #expect(try await ask(client, port, "web.cluster.local").rcode == .noError)
        }
    }

    @Test("its sockets live in the namespace: nothing answers on that port from the host")
    func namespacePlacement() async throws {
        try await withMesh { _, _, _, port in
            let hostClient = DNSClient()
            await #expect(throws: (any Error).self) {
                _ = try await hostClient.query(DNSQuestion(name: try DNSName("web.cluster.local"), type: .a), server: Self.loopback, port: port, timeout: .milliseconds(300))
            }
        }
    }

    @Test("a forwarding loop is detected and answered quickly instead of running until the budget")
    func loop() async throws {
        try await withDNSNamespace { namespace in
            let enter: @Sendable () throws -> Void = { try namespace.moveCurrentThread() }
            // Two proxies, each the other's upstream.
            let first = DNSProxy(.init(listen: [DNSListenAddress(host: "127.0.0.1", port: 0)], timeout: .seconds(3), threadSetup: enter))
            let second = DNSProxy(.init(listen: [DNSListenAddress(host: "127.0.0.1", port: 0)], timeout: .seconds(3), threadSetup: enter))
            let firstPort = UInt16(try await first.start()[0].port), secondPort = UInt16(try await second.start()[0].port)
            first.setUpstreams([DNSUpstream(address: Self.loopback, port: secondPort)])
            second.setUpstreams([DNSUpstream(address: Self.loopback, port: firstPort)])
            let client = DNSClient(threadSetup: enter)
            let started = ContinuousClock.now
            let answer = try await ask(client, firstPort, "loop.example")
            let elapsed = ContinuousClock.now - started
            await first.stop()
            await second.stop()
            #expect(answer.rcode == .servFail)
            #expect(first.metrics.loopsDetected == 1)
            #expect(elapsed < .seconds(2), "answered after \(elapsed), the loop was not cut")
        }
    }
}
