import Foundation
import Crypto
import GRPCCore
import NIOSSL
import SwiftASN1
import X509
import LeanGRPC
import NSMAPI
@testable import NSMRuntime
import SPIFFE
import SwiftProtobuf
import Synchronization
import Testing

/// An SVID and bundle held in memory, swapped by the test (rotation).
final class HeldSource: X509Source {
    private let held: Mutex<X509Material>
    init(_ svid: X509SVID, bundle: TrustBundle) { held = Mutex(X509Material(svid: svid, bundle: bundle, generation: 1)) }
    func current() throws(SPIFFEError) -> X509Material { held.withLock { $0 } }
    func rotate(to svid: X509SVID) {
        held.withLock { $0 = X509Material(svid: svid, bundle: $0.bundle, generation: $0.generation + 1) }
    }
}

/// Answers with who the transport says called: `identity` = the caller's verified SPIFFE ID.
struct WhoCalls: Networkservice_NetworkService.SimpleServiceProtocol {
    func request(request: Networkservice_NetworkServiceRequest, context: ServerContext) async throws -> Connection_Connection {
        var connection = request.connection
        connection.labels["identity"] = ServerCaller.current?.identity ?? "none"
        connection.labels["pid"] = ServerCaller.current?.unix.map { "\($0.pid)" } ?? "none"
        return connection
    }
    func close(request: Connection_Connection, context: ServerContext) async throws -> Google_Protobuf_Empty { Google_Protobuf_Empty() }
}

@Suite("Mutual TLS with SPIFFE identities on the lean transports", .serialized)
struct SPIFFETransportTests {
    static let path = "/networkservice.NetworkService/Request"
    let issuer: SVIDIssuer
    let serverID: SPIFFEID, clientID: SPIFFEID

    init() throws {
        issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        serverID = try SPIFFEID("spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-a")
        clientID = try SPIFFEID("spiffe://k8s.nsm/ns/default/pod/web-0")
    }

    func source(_ id: SPIFFEID, validity: TimeInterval = 3600, from issuer: SVIDIssuer? = nil) throws -> HeldSource {
        let issuer = issuer ?? self.issuer
        return HeldSource(try issuer.issue(id, validity: validity), bundle: issuer.bundle)
    }

    func withServer(_ address: GRPCAddress, _ source: HeldSource, _ body: @Sendable (GRPCAddress) async throws -> Void) async throws {
        let transport = LeanServerTransport(address: address, security: .spiffe(source, server: true))
        let server = GRPCServer(transport: transport, services: [WhoCalls()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            try await body(try await transport.listeningAddress)
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    func call(_ client: LeanGRPCClient) async throws -> [String: String] {
        var request = Networkservice_NetworkServiceRequest()
        request.connection.id = "c"
        return try await client.call(Self.path, request, as: Connection_Connection.self, timeout: .seconds(5)).labels
    }

    func addresses() -> [GRPCAddress] {
        [.unixDomainSocket(path: "/tmp/spiffe-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"), .tcp(host: "127.0.0.1", port: 0)]
    }

    @Test("the right SVID is accepted on a unix socket and over TCP; each side learns the other's SPIFFE ID")
    func accepted() async throws {
        for address in addresses() {
            try await withServer(address, try source(serverID)) { bound in
                let client = LeanGRPCClient(target: bound, security: .spiffe(try source(clientID), server: false))
                defer { client.shutDown() }
                let labels = try await call(client)
                #expect(labels["identity"] == clientID.description)
                #expect(try await client.serverIdentity() == serverID.description)
                if case .unixDomainSocket = bound { #expect(labels["pid"] == "\(getpid())") }
            }
        }
    }

    @Test("plaintext, another CA's SVID, and a certificate without a SPIFFE ID are refused; so is a server outside the client's trust")
    func refused() async throws {
        let stranger = try SVIDIssuer(trustDomain: "k8s.nsm")  // same name, another CA
        for address in addresses() {
            try await withServer(address, try source(serverID)) { bound in
                let plaintext = LeanGRPCClient(target: bound)
                defer { plaintext.shutDown() }
                await #expect { try await call(plaintext) } throws: { ($0 as? RPCError)?.code == .unavailable }

                let foreign = LeanGRPCClient(target: bound, security: .spiffe(try source(clientID, from: stranger), server: false))
                defer { foreign.shutDown() }
                await #expect { try await call(foreign) } throws: { ($0 as? RPCError)?.code == .unavailable }

                // A good SVID, but a bundle that does not hold the server's CA: the client refuses the server.
                let distrustful = LeanGRPCClient(target: bound, security: .spiffe(HeldSource(try issuer.issue(clientID, validity: 600), bundle: stranger.bundle), server: false))
                defer { distrustful.shutDown() }
                await #expect { try await call(distrustful) } throws: { ($0 as? RPCError)?.code == .unavailable }

                // Chains to the right CA, but its URI SAN is not a SPIFFE ID: the TLS layer lets it
                // through, the SPIFFE check refuses it by name.
                let key = P256.Signing.PrivateKey()
                let notSVID = try issuer.certificate(for: clientID, key: key, validity: 600, uris: ["https://example.org/web"])
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(try notSVID.serializeAsPEM().pemString.utf8), format: .pem))]
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem))
                configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(try issuer.authority.serializeAsPEM().pemString.utf8), format: .pem)])
                configuration.certificateVerification = .noHostnameVerification
                configuration.applicationProtocols = ["h2"]
                let context = try NIOSSLContext(configuration: configuration)
                let odd = LeanGRPCClient(target: bound, security: TransportSecurity(context: { context }, identify: { _ in "the server" }))
                defer { odd.shutDown() }
                await #expect { try await call(odd) } throws: { error in
                    guard let error = error as? RPCError else { return false }
                    return error.code == .unauthenticated && error.message.contains("must start with spiffe://")
                }
            }
        }
    }

    @Test("rotation: new connections present the new SVID, an open one goes on after the old SVID expired")
    func rotation() async throws {
        let server = try source(serverID, validity: 3)
        try await withServer(addresses()[0], server) { bound in
            let early = LeanGRPCClient(target: bound, security: .spiffe(try source(clientID), server: false))
            defer { early.shutDown() }
            #expect(try await call(early)["identity"] == clientID.description)
            let firstExpiry = try server.current().svid.notAfter
            let rotatedID = try SPIFFEID("spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-b")
            server.rotate(to: try issuer.issue(rotatedID, validity: 3600))
            // Outlive the first SVID (the open connection was made with it); the condition is the clock.
            try await Task.sleep(for: .seconds(firstExpiry.timeIntervalSinceNow + 0.5))
            #expect(Date() > firstExpiry)
            #expect(try await call(early)["identity"] == clientID.description)
            #expect(try await early.serverIdentity() == serverID.description)
            let late = LeanGRPCClient(target: bound, security: .spiffe(try source(clientID), server: false))
            defer { late.shutDown() }
            _ = try await call(late)
            #expect(try await late.serverIdentity() == rotatedID.description)
        }
    }
}
