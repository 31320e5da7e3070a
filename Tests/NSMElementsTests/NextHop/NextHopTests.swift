import NSMAPI
import NSMCore
import NSMElements
import Synchronization
import Testing

@Suite("Next hop: client URL, restore on Close, connect")
struct NextHopTests {
    /// Resolves every connection to one URL and counts the calls.
    final class FixedResolver: NextHopResolver {
        let url: NSMURL?
        let asked = Mutex(0)
        init(_ url: NSMURL?) { self.url = url }
        func nextHop(for connection: Connection_Connection) async throws -> NSMURL? {
            asked.withLock { $0 += 1 }
            return url
        }
    }

    @Test("the client's URL is where Request and Close go")
    func clientURL() async throws {
        let dialer = FakeDialer()
        let manager = try NSMURL("unix:///run/nsm/nsm.io.sock")
        let chain = NetworkServiceChain([ClientURLElement(url: manager), ConnectElement(dialer: dialer)])
        let connection = try await chain.request(request(id: "p-0"), context: ChainContext())
        try await chain.close(connection, context: ChainContext())
        #expect(dialer.calls.withLock { $0.map(\.url) } == [manager, manager])
    }

    @Test("a Close that no selection element routed is restored from the connection; one that was routed is left alone")
    func restore() async throws {
        let dialer = FakeDialer()
        let restored = try NSMURL("unix:///run/forwarder.sock"), chosen = try NSMURL("unix:///run/other.sock")
        let resolver = FixedResolver(restored)
        let chain = NetworkServiceChain([RestoreNextHopElement(resolver), ConnectElement(dialer: dialer)])
        try await chain.close(request(id: "r").connection, context: ChainContext())
        #expect(dialer.calls.withLock { $0.last?.url } == restored && resolver.asked.withLock { $0 } == 1)
        let routed = NetworkServiceChain([ClientURLElement(url: chosen), RestoreNextHopElement(resolver), ConnectElement(dialer: dialer)])
        try await routed.close(request(id: "r").connection, context: ChainContext())
        #expect(dialer.calls.withLock { $0.last?.url } == chosen && resolver.asked.withLock { $0 } == 1)
    }

    @Test("with no next hop, Request is an error and Close reaches no peer")
    func nowhere() async throws {
        let dialer = FakeDialer()
        let chain = NetworkServiceChain([RestoreNextHopElement(FixedResolver(nil)), ConnectElement(dialer: dialer)])
        let error = await #expect(throws: NSMError.self) { _ = try await chain.request(request(id: "n"), context: ChainContext()) }
        #expect(error?.message.contains("no next hop") == true)
        try await chain.close(request(id: "n").connection, context: ChainContext())
        #expect(dialer.calls.withLock { $0 }.isEmpty)
    }

    @Test("a forwarder restores its endpoint by the name the connection carries")
    func endpointByName() async throws {
        struct Registry: RegistryReader {
            func networkService(named name: String) async throws -> Registry_NetworkService? { nil }
            func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
                query.name == "nse-1" ? [endpoint("nse-1", url: "tcp://10.0.0.2:5001")] : []
            }
        }
        var connection = request(id: "e").connection
        connection.networkServiceEndpointName = "nse-1"
        #expect(try await EndpointByName(registry: Registry()).nextHop(for: connection) == NSMURL("tcp://10.0.0.2:5001"))
        connection.networkServiceEndpointName = "nse-gone"
        #expect(try await EndpointByName(registry: Registry()).nextHop(for: connection) == nil)
    }
}
