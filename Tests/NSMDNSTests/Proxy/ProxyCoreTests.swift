import IPAddressing
import Logging
import NIOPosix
@testable import NSMDNS
import Synchronization
import Testing

@Suite("Proxy core: which upstreams a query goes to")
struct ProxyCoreTests {
    static func core() -> ProxyCore {
        ProxyCore(tcpLoop: MultiThreadedEventLoopGroup.singleton.next(), timeout: .seconds(5), cache: DNSCache(), logger: Logger(label: "test"))
    }

    @Test("scoped upstreams are asked first, the most specific first; our own listener never")
    func order() throws {
        let core = Self.core()
        core.ownAddresses = [DNSListenAddress(host: "127.0.0.1", port: 53)]
        let cluster = try DNSUpstream(parsing: "10.96.0.10")
        let service = try DNSUpstream(parsing: "172.16.0.2=svc.nsm")
        let deeper = try DNSUpstream(parsing: "172.16.0.3:5353=a.svc.nsm,other.example")
        let own = try DNSUpstream(parsing: "127.0.0.1:53")
        core.setUpstreams([cluster, own, service, deeper])
        #expect(core.upstreams == [deeper, service, cluster])
    }

    @Test("the cache is emptied only when the upstreams really change")
    func cacheFlush() throws {
        let core = Self.core()
        let upstreams = [try DNSUpstream(parsing: "10.96.0.10"), try DNSUpstream(parsing: "172.16.0.2=svc.nsm")]
        core.setUpstreams(upstreams)
        let query = DNSMessage.query(DNSQuestion(name: try DNSName("web.cluster.local"), type: .a), id: 1)
        var response = query.response(rcode: .noError)
        response.answers = [.a(try DNSName("web.cluster.local"), IPv4Address("10.1.0.1")!, ttl: 60)]
        let bytes = response.serialized()
        core.cache.withLock { $0.store(try! DNSMessage(bytes: bytes), bytes: bytes, key: DNSCacheKey(query), now: 1) }
        core.setUpstreams(upstreams)
        #expect(core.cache.withLock { $0.count } == 1, "same upstreams: answers kept")
        core.setUpstreams(Array(upstreams.prefix(1)))
        #expect(core.cache.withLock { $0.count } == 0, "an upstream left: answers dropped")
    }

    @Test("upstreams set before start are not replaced by the configuration's initial list")
    func setBeforeStart() async throws {
        let cluster = try DNSUpstream(parsing: "10.96.0.10"), service = try DNSUpstream(parsing: "172.16.0.2=svc.nsm")
        let proxy = DNSProxy(.init(listen: [DNSListenAddress(host: "127.0.0.1", port: 0)], upstreams: [cluster]))
        proxy.setUpstreams([cluster, service])
        try await proxy.start()
        let core = proxy.core
        let seen = await withCheckedContinuation { continuation in core.mailbox.post { continuation.resume(returning: core.upstreams) } }
        await proxy.stop()
        #expect(seen == [service, cluster])
    }
}
