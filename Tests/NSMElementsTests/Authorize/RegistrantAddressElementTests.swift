import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMElements
import Testing

@Suite("RegistrantAddressElement")
struct RegistrantAddressElementTests {
    func entry(_ url: String) -> Registry_NetworkServiceEndpoint {
        var entry = Registry_NetworkServiceEndpoint()
        entry.name = "nse-a"
        entry.url = url
        return entry
    }

    func register(_ url: String, from caller: Caller) async throws {
        let chain = RegistryChain<Registry_NetworkServiceEndpoint>([RegistrantAddressElement()])
        _ = try await Caller.$current.withValue(caller) { try await chain.register(entry(url)) }
    }

    func refused(_ url: String, from caller: Caller, naming address: String) async {
        await #expect {
            try await register(url, from: caller)
        } throws: { error in
            (error as? NSMError)?.code == .permissionDenied && "\(error)".contains("registrant's own address (tcp://\(address):<port>)")
                && "\(error)".contains("nse-a")
        }
    }

    @Test("over the network an endpoint is published only under the caller's own address, however it is written")
    func ownAddress() async throws {
        try await register("tcp://10.0.0.5:5001", from: .remote("ipv4:10.0.0.5:40000"))
        try await register("tcp://[fd00::5]:5001", from: .remote("ipv6:[fd00:0:0::5]:40000"))
        await refused("tcp://10.0.0.6:5001", from: .remote("ipv4:10.0.0.5:40000"), naming: "10.0.0.5")
        await refused("unix:///var/lib/networkservicemesh/nse.sock", from: .remote("ipv4:10.0.0.5:40000"), naming: "10.0.0.5")
        await refused("tcp://nsmgr.example:5001", from: .remote("ipv4:10.0.0.5:40000"), naming: "10.0.0.5")
        await refused("not a url", from: .remote("ipv6:[fd00::5]:40000"), naming: "fd00::5")
    }

    @Test("local callers and this process register any URL (the manager's unix socket, the registry's own)")
    func localCallers() async throws {
        try await register("unix:///run/nse.sock", from: .local(pid: 9, uid: 0, namespace: nil))
        try await register("tcp://10.9.9.9:5001", from: .inProcess)
    }

    @Test("a network peer's address comes without its port or brackets")
    func remoteAddress() {
        #expect(Caller.remote("ipv4:10.0.0.1:5000").remoteAddress == "10.0.0.1")
        #expect(Caller.remote("ipv6:[fd00::1]:5000").remoteAddress == "fd00::1")
        #expect(Caller.remote("ipv6:[fd00::1]:5000").identity == "peer fd00::1")
        #expect(Caller.inProcess.remoteAddress == nil)
    }
}
