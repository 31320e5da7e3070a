import Synchronization
import GRPCCore
import NSMAPI
import NSMCore
import NSMElements
import SwiftProtobuf
import Testing

@Suite("DiscoverForwarderElement and LocalForwarders")
struct DiscoverForwarderElementTests {
    static let publicURL = "tcp://10.0.0.1:5001"

    /// The registry as the manager's cache sees it: forwarders published under its public URL.
    struct Registry: RegistryReader {
        var forwarders: [Registry_NetworkServiceEndpoint]
        func networkService(named name: String) async throws -> Registry_NetworkService? { nil }
        func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
            forwarders.filter { query.url.isEmpty || $0.url == query.url }
        }
    }

    static func forwarder(_ name: String, url: String = publicURL) -> Registry_NetworkServiceEndpoint {
        var forwarder = endpoint(name, url: url)
        forwarder.networkServiceNames = ["forwarder"]
        forwarder.setLabels(["p2p": "true"], forService: "forwarder")
        return forwarder
    }

    func setUp() -> (LocalForwarders, LocalBypass) {
        let bypass = LocalBypass()
        bypass.record(name: "fwd-1", url: "unix:///run/fwd-1.sock")
        bypass.record(name: "fwd-2", url: "unix:///run/fwd-2.sock")
        // fwd-3 is published under another node's URL; fwd-4 under ours but not registered here.
        let registry = Registry(forwarders: [Self.forwarder("fwd-1"), Self.forwarder("fwd-2"), Self.forwarder("fwd-3", url: "tcp://10.0.0.9:5001"), Self.forwarder("fwd-4")])
        return (LocalForwarders(registry: registry, bypass: bypass, publicURL: Self.publicURL), bypass)
    }

    @Test("candidates are this node's forwarders, at their local URLs")
    func localOnly() async throws {
        let (forwarders, _) = setUp()
        #expect(try await forwarders.list().map(\.url) == ["unix:///run/fwd-1.sock", "unix:///run/fwd-2.sock"])
    }

    @Test("the first matching forwarder is the next hop; a failing one is skipped; a refresh keeps the one in the path")
    func selection() async throws {
        let (forwarders, _) = setUp()
        let dialer = FakeDialer()
        let element = DiscoverForwarderElement(forwarders: forwarders, services: Registry(forwarders: []))
        let chain = NetworkServiceChain([MetadataElement(), element, ConnectElement(dialer: dialer)])
        _ = try await chain.request(request(id: "a"), context: ChainContext())
        #expect(dialer.calls.withLock { $0.last?.url } == (try NSMURL("unix:///run/fwd-1.sock")))
        dialer.failing.withLock { $0 = [try! NSMURL("unix:///run/fwd-1.sock")] }
        _ = try await chain.request(request(id: "b"), context: ChainContext())
        #expect(dialer.calls.withLock { $0.last?.url } == (try NSMURL("unix:///run/fwd-2.sock")))
        dialer.failing.withLock { $0 = [] }
        var segment = Connection_PathSegment()
        segment.name = "fwd-2"
        var refresh = request(id: "c", path: [Connection_PathSegment(), segment], index: 0)
        refresh.connection.path.index = 0
        _ = try await chain.request(refresh, context: ChainContext())
        #expect(dialer.calls.withLock { $0.last?.url } == (try NSMURL("unix:///run/fwd-2.sock")))
    }

    @Test("no forwarder on the node is an error that says so; Close after a restart finds the forwarder named in the path")
    func noneAndRestore() async throws {
        let empty = LocalForwarders(registry: Registry(forwarders: []), bypass: LocalBypass(), publicURL: Self.publicURL)
        let chain = NetworkServiceChain([DiscoverForwarderElement(forwarders: empty, services: Registry(forwarders: []))])
        let error = await #expect(throws: NSMError.self) { _ = try await chain.request(request(id: "x"), context: ChainContext()) }
        #expect(error?.code == .unavailable && error?.message.contains("is the forwarder running?") == true)
        let (forwarders, _) = setUp()
        var segment = Connection_PathSegment()
        segment.name = "fwd-2"
        let connection = request(id: "y", path: [Connection_PathSegment(), segment], index: 0).connection
        #expect(try await forwarders.nextHop(for: connection) == NSMURL("unix:///run/fwd-2.sock"))
    }
}
