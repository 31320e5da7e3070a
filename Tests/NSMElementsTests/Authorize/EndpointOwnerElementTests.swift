import Foundation
import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMElements
import SwiftProtobuf
import Testing

@Suite("EndpointOwnerElement")
struct EndpointOwnerElementTests {
    static let endpointA = Caller.local(pid: 1, uid: 0, namespace: nil, spiffeID: "spiffe://k8s.nsm/ns/a/pod/nse-a")
    static let intruder = Caller.local(pid: 2, uid: 0, namespace: nil, spiffeID: "spiffe://k8s.nsm/ns/b/pod/web")

    func entry(_ name: String, expires: Date? = nil) -> Registry_NetworkServiceEndpoint {
        var entry = Registry_NetworkServiceEndpoint()
        entry.name = name
        if let expires { entry.expirationTime = Google_Protobuf_Timestamp(date: expires) }
        return entry
    }

    func denied(_ body: () async throws -> Void, _ verb: String) async {
        await #expect {
            try await body()
        } throws: { error in
            (error as? NSMError)?.code == .permissionDenied && "\(error)".contains("only its registrant may \(verb)") && "\(error)".contains("nse-a")
        }
    }

    @Test("the first registrant owns the name: it re-registers and unregisters, another identity may do neither; then the name is free")
    func owner() async throws {
        let chain = RegistryChain<Registry_NetworkServiceEndpoint>([EndpointOwnerElement()])
        let later = Date().addingTimeInterval(60)
        _ = try await Caller.$current.withValue(Self.endpointA) { try await chain.register(entry("nse-a", expires: later)) }
        _ = try await Caller.$current.withValue(Self.endpointA) { try await chain.register(entry("nse-a", expires: later)) }
        await denied({ _ = try await Caller.$current.withValue(Self.intruder) { try await chain.register(entry("nse-a", expires: later)) } }, "register")
        await denied({ try await Caller.$current.withValue(Self.intruder) { try await chain.unregister(entry("nse-a")) } }, "unregister")
        try await Caller.$current.withValue(Self.endpointA) { try await chain.unregister(entry("nse-a")) }
        _ = try await Caller.$current.withValue(Self.intruder) { try await chain.register(entry("nse-a", expires: later)) }
    }

    @Test("an expired registration frees its name; calls from this process always pass")
    func expiry() async throws {
        let chain = RegistryChain<Registry_NetworkServiceEndpoint>([EndpointOwnerElement()])
        _ = try await Caller.$current.withValue(Self.endpointA) { try await chain.register(entry("nse-a", expires: Date().addingTimeInterval(-1))) }
        _ = try await Caller.$current.withValue(Self.intruder) { try await chain.register(entry("nse-a", expires: Date().addingTimeInterval(60))) }
        try await chain.unregister(entry("nse-a"))
    }
}

@Suite("LocalRegistrantElement")
struct LocalRegistrantElementTests {
    @Test("registrations over the network are refused; local processes and this process pass")
    func local() async throws {
        let chain = RegistryChain<Registry_NetworkServiceEndpoint>([LocalRegistrantElement()])
        var entry = Registry_NetworkServiceEndpoint()
        entry.name = "nse-x"
        _ = try await chain.register(entry)
        _ = try await Caller.$current.withValue(.local(pid: 1, uid: 0, namespace: nil)) { try await chain.register(entry) }
        await #expect {
            _ = try await Caller.$current.withValue(.remote("ipv4:10.0.0.2:4000", spiffeID: "spiffe://k8s.nsm/ns/x/pod/y")) { try await chain.register(entry) }
        } throws: { error in
            (error as? NSMError)?.code == .permissionDenied && "\(error)".contains("manager of its own node")
        }
        await #expect(throws: NSMError.self) {
            try await Caller.$current.withValue(.remote("ipv4:10.0.0.2:4000")) { try await chain.unregister(entry) }
        }
    }
}
