import NSMElements
import NSMAPI
import NSMCore
import NSMRegistry
import NSMRuntime
import Testing

@Suite("Registry chains")
struct RegistryChainTests {
    @Test("the manager's local bypass publishes its own URL and answers with local ones")
    func localBypass() async throws {
        let store = RegistryStore()
        let bypass = LocalBypass()
        let chain = RegistryChain<Registry_NetworkServiceEndpoint>([
            LocalBypassElement(bypass: bypass, publicURL: "tcp://10.0.0.1:5001"), ValidateEndpointElement(), EndpointStorageElement(storage: store),
        ])
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = "nse-1"
        endpoint.networkServiceNames = ["svc"]
        endpoint.url = "unix:///var/lib/networkservicemesh/nse-1.sock"
        let answer = try await chain.register(endpoint)
        #expect(answer.url == endpoint.url)
        #expect(store.findEndpoints(Registry_NetworkServiceEndpoint()).map(\.url) == ["tcp://10.0.0.1:5001"])
        #expect(try await chain.find(Registry_NetworkServiceEndpoint()).map(\.url) == [endpoint.url])
        // Another node's endpoint keeps its URL.
        var remote = Registry_NetworkServiceEndpoint()
        remote.name = "nse-2"
        remote.url = "tcp://10.0.0.2:5001"
        _ = try store.register(remote)
        #expect(Set(try await chain.find(Registry_NetworkServiceEndpoint()).map(\.url)) == [endpoint.url, "tcp://10.0.0.2:5001"])
        try await chain.unregister(endpoint)
        #expect(store.findEndpoints(Registry_NetworkServiceEndpoint()).map(\.name) == ["nse-2"])
        #expect(bypass.localURL(for: "nse-1") == nil)
    }

    @Test("validation refuses before storage, naming what is wrong")
    func validation() async throws {
        let store = RegistryStore()
        let chain = RegistryChain<Registry_NetworkServiceEndpoint>([ValidateEndpointElement(), EndpointStorageElement(storage: store)])
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = "nse-x"
        endpoint.url = "tcp://127.0.0.1:1"
        endpoint.networkServiceNames = ["ok", ""]
        await #expect(throws: NSMError.self) { _ = try await chain.register(endpoint) }
        endpoint.networkServiceNames = ["ok"]
        endpoint.url = "ftp://x"
        do {
            _ = try await chain.register(endpoint)
            Issue.record("accepted ftp://")
        } catch let error as NSMError {
            #expect(error.message.contains("ftp://x") && error.message.contains("unix:///"))
        }
        #expect(store.findEndpoints(Registry_NetworkServiceEndpoint()).isEmpty)
    }
}
