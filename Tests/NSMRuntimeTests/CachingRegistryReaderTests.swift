import Logging
import NSMAPI
import NSMCore
import NSMRuntime
import SwiftProtobuf
import Testing

@Suite("CachingRegistryReader", .serialized)
struct CachingRegistryReaderTests {
    func endpoint(_ name: String, service: String) -> Registry_NetworkServiceEndpoint {
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = name
        endpoint.networkServiceNames = [service]
        endpoint.url = "tcp://127.0.0.1:5001"  // published under the registrant's own address, as a manager does
        return endpoint
    }

    @Test("answers from a watched view; while the registry is away, from the last view (not expiring); unknown names still fail")
    func staleView() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            let registry = RegistryClient(url: mesh.registryURL, pool: mesh.pool)
            var service = Registry_NetworkService()
            service.name = "svc-cache"
            _ = try await registry.register(service)
            _ = try await registry.register(endpoint("nse-cache", service: "svc-cache"))
            let cache = CachingRegistryReader(upstream: registry, logger: Logger(label: "test"))
            let runner = ServiceRunner()
            runner.start([cache])
            try await waitUntil("the watches to deliver") {
                let found = try await cache.endpoints(matching: .with { $0.name = "nse-cache" })
                return cache.isLive && found.count == 1
            }
            // A registration after the snapshot arrives through the watch.
            _ = try await registry.register(endpoint("nse-later", service: "svc-cache"))
            try await waitUntil("the watch to deliver the later registration") {
                try await cache.endpoints(matching: .with { $0.networkServiceNames = ["svc-cache"] }).map(\.name) == ["nse-cache", "nse-later"]
            }
            try await mesh.stopRegistry()
            try await waitUntil("the watch to break") { !cache.isLive }
            let stale = try await cache.endpoints(matching: .with { $0.networkServiceNames = ["svc-cache"] })
            #expect(stale.map(\.name) == ["nse-cache", "nse-later"])
            #expect(stale.allSatisfy { !$0.hasExpirationTime })
            #expect(try await cache.networkService(named: "svc-cache")?.name == "svc-cache")
            await #expect(throws: (any Error).self) { _ = try await cache.endpoints(matching: .with { $0.name = "nse-never" }) }
            await runner.stopAll()
        }
    }
}
