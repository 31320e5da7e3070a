import Synchronization
import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMElements
import Testing

@Suite("RoundRobinElement")
struct RoundRobinElementTests {
    let a = endpoint("nse-a", url: "unix:///run/a.sock"), b = endpoint("nse-b", url: "unix:///run/b.sock")

    @Test("endpoints take turns per service; the choice is the next hop and the connection's endpoint name")
    func turns() async throws {
        let dialer = FakeDialer()
        let chain = NetworkServiceChain([MetadataElement(), CandidatesElement(candidates: [a, b]), RoundRobinElement(), ConnectElement(dialer: dialer)])
        var names: [String] = []
        for index in 0..<4 { names.append(try await chain.request(request(id: "c\(index)"), context: ChainContext()).networkServiceEndpointName) }
        #expect(names == ["nse-a", "nse-b", "nse-a", "nse-b"])
        #expect(dialer.calls.withLock { $0.map(\.url.description) } == ["unix:///run/a.sock", "unix:///run/b.sock", "unix:///run/a.sock", "unix:///run/b.sock"])
    }

    @Test("an endpoint that fails in a way worth retrying elsewhere is skipped; one that refuses the request is not")
    func failover() async throws {
        let dialer = FakeDialer()
        let down = try NSMURL(a.url)
        let skipping = NetworkServiceChain([
            MetadataElement(), CandidatesElement(candidates: [a, b]), RoundRobinElement(),
            RefusingElement(refusing: [down], error: .unavailable("gone")), ConnectElement(dialer: dialer),
        ])
        #expect(try await skipping.request(request(id: "f1"), context: ChainContext()).networkServiceEndpointName == "nse-b")
        let refusing = NetworkServiceChain([
            MetadataElement(), CandidatesElement(candidates: [a, b]), RoundRobinElement(),
            RefusingElement(refusing: [down], error: .invalidArgument("bad request")), ConnectElement(dialer: dialer),
        ])
        let error = await #expect(throws: NSMError.self) { _ = try await refusing.request(request(id: "f2"), context: ChainContext()) }
        #expect(error?.code == .invalidArgument)
        let none = NetworkServiceChain([MetadataElement(), CandidatesElement(candidates: []), RoundRobinElement()])
        await #expect(throws: NSMError.self) { _ = try await none.request(request(id: "f3"), context: ChainContext()) }
    }

    @Test("Close goes to the endpoint the connection was made with")
    func close() async throws {
        let dialer = FakeDialer()
        let store = MetadataStore()
        let chain = NetworkServiceChain([MetadataElement(store: store), CandidatesElement(candidates: [b, a]), RoundRobinElement(), ConnectElement(dialer: dialer)])
        let connection = try await chain.request(request(id: "k"), context: ChainContext())
        try await chain.close(connection, context: ChainContext())
        #expect(dialer.calls.withLock { $0 } == [.init(url: try NSMURL(b.url), method: "request", id: "k"), .init(url: try NSMURL(b.url), method: "close", id: "k")])
    }
}
