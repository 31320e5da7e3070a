import NSMAPI
import NSMRegistry
import Testing

@Suite("RegistryStore watches")
struct RegistryStoreWatchTests {
    static func endpoint(_ name: String) -> Registry_NetworkServiceEndpoint {
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = name
        endpoint.networkServiceNames = ["svc"]
        endpoint.url = "tcp://10.0.0.1:5001"
        return endpoint
    }

    @Test("a watch starts with every matching endpoint, however many (10,000), then follows changes")
    func largeSnapshot() async throws {
        let store = RegistryStore(expirePeriod: 600)
        for index in 0..<10_000 { _ = try store.register(Self.endpoint("nse-\(index)")) }
        var events = store.watchEndpoints(Registry_NetworkServiceEndpoint()).makeAsyncIterator()
        var names = Set<String>()
        while names.count < 10_000, let event = await events.next() { names.insert(event.networkServiceEndpoint.name) }
        #expect(names.count == 10_000)
        _ = try store.register(Self.endpoint("nse-later"))
        #expect(await events.next()?.networkServiceEndpoint.name == "nse-later")
    }

    @Test("a watcher that falls more than the backlog behind is ended, not left to miss changes silently")
    func overflowEnds() async throws {
        let store = RegistryStore(expirePeriod: 600)
        let stream = store.watchEndpoints(Registry_NetworkServiceEndpoint())
        for index in 0..<(RegistryStore.watchBacklog + 10) { _ = try store.register(Self.endpoint("nse-\(index)")) }
        var received = 0
        for await _ in stream { received += 1 }  // ends: the watcher must watch again
        #expect(received == RegistryStore.watchBacklog)
        // And it no longer counts as a watcher.
        _ = try store.register(Self.endpoint("nse-after"))
    }
}
