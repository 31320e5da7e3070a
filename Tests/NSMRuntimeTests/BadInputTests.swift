import SwiftProtobuf
import Foundation
import GRPCCore
import IPAddressing
import NSMAPI
import NSMCore
import NSMElements
import NSMRegistry
import NSMRuntime
import Testing

@Suite("Bad input on the wire", .serialized)
struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var mutate: @Sendable (inout Networkservice_NetworkServiceRequest) -> Void
        var code: RPCError.Code
        var mentions: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty connection id", mutate: { $0.connection.id = "" }, code: .invalidArgument, mentions: "id must not be empty"),
        Case(name: "unknown network service", mutate: { $0.connection.networkService = "no-such-service" }, code: .notFound,
             mentions: "\"no-such-service\" is not registered"),
        Case(name: "empty network service", mutate: { $0.connection.networkService = "" }, code: .invalidArgument, mentions: "network_service must not be empty"),
        Case(name: "malformed excluded prefix", mutate: { $0.connection.context.ipContext.excludedPrefixes = ["10.0.0.0/40"] }, code: .invalidArgument,
             mentions: "excluded_prefixes[0]"),
        Case(name: "interface name too long", mutate: { $0.mechanismPreferences = [.kernel(interfaceName: "a-very-long-ifname")] }, code: .invalidArgument,
             mentions: "at most 15"),
        Case(name: "unknown mechanism", mutate: { var memif = Connection_Mechanism(); memif.cls = "LOCAL"; memif.type = "MEMIF"; $0.mechanismPreferences = [memif] },
             code: .invalidArgument, mentions: "LOCAL/MEMIF"),
        Case(name: "labels match no endpoint", mutate: { $0.connection.labels = ["app": "nobody"] }, code: .notFound, mentions: "matches the request labels"),
        Case(name: "path index out of range", mutate: { $0.connection.path.pathSegments = [Connection_PathSegment(name: "x", id: "y")]; $0.connection.path.index = 5 },
             code: .invalidArgument, mentions: "out of range"),
    ]

    @Test("is refused with a precise gRPC error and leaves nothing behind", arguments: cases)
    func refused(_ testCase: Case) async throws {
        try await Mesh.with(nodes: 1) { mesh in
            let (endpoint, _) = try await mesh.addEndpoint("nse-b", node: 0, services: ["svc-b"], labels: ["app": "b"])
            try await mesh.registerService(.with {
                $0.name = "svc-b"
                $0.matches = [.with { $0.routes = [.with { $0.destinationSelector = ["app": "{{.app}}"] }] }]
            })
            var request = Networkservice_NetworkServiceRequest(connection: .with {
                $0.id = "bad-0"
                $0.networkService = "svc-b"
                $0.labels = ["app": "b"]
            }, preferences: [.kernel(interfaceName: "nsm-1", namespace: .inode(device: 4, inode: 1))])
            testCase.mutate(&request)
            let remote = try await GRPCDialer(pool: mesh.pool, timeout: .seconds(10)).peer(for: mesh.nodes[0].managerUnix)
            do {
                _ = try await remote.request(request)
                Issue.record("accepted")
            } catch let error as RPCError {
                #expect(error.code == testCase.code, "\(error)")
                #expect(error.message.contains(testCase.mentions), "message: \(error.message)")
            }
            #expect(mesh.nodes[0].dataPlane.connected.isEmpty)
            #expect(endpoint.ipam.allocatedConnections == 0)
            #expect(endpoint.monitor.connections.isEmpty)
            #expect(mesh.nodes[0].manager.monitor.connections.isEmpty)
            #expect(mesh.nodes[0].forwarder.monitor.connections.isEmpty)
        }
    }
}
