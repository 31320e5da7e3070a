import Foundation
import GRPCCore
import LeanGRPC
import NSMAPI
import NSMCore
@testable import NSMRuntime
import SPIFFE
import SwiftProtobuf
import Testing

/// Answers a Request with the `nsm-client-token` metadata it came with, as labels.
struct TokenMetadataEcho: Networkservice_NetworkService.ServiceProtocol {
    func request(
        request: ServerRequest<Networkservice_NetworkServiceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Connection_Connection> {
        var connection = request.message.connection
        for key in [ClientTokenMetadata.tokenKey, ClientTokenMetadata.expiresKey] {
            connection.labels[key] = Array(request.metadata[stringValues: key]).joined(separator: ",")
        }
        return ServerResponse(message: connection)
    }
    func close(request: ServerRequest<Connection_Connection>, context: ServerContext) async throws -> ServerResponse<Google_Protobuf_Empty> {
        ServerResponse(message: Google_Protobuf_Empty())
    }
}

@Suite("nsm-client-token metadata, as upstream's per-call credentials")
struct ClientTokenMetadataTests {
    func timestamp(_ seconds: Int64, _ nanos: Int32 = 0) -> Google_Protobuf_Timestamp {
        var time = Google_Protobuf_Timestamp()
        time.seconds = seconds
        time.nanos = nanos
        return time
    }

    @Test("RFC 3339 as Go's RFC3339Nano writes it, and read back in its forms")
    func rfc3339() {
        #expect(RFC3339Nano.format(timestamp(0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339Nano.format(timestamp(1_136_214_245, 123_400_000)) == "2006-01-02T15:04:05.1234Z")
        #expect(RFC3339Nano.parse("2006-01-02T15:04:05.999999999+07:00") == timestamp(1_136_189_045, 999_999_999))
        #expect(RFC3339Nano.parse("2006-01-02T15:04:05.5-01:30") == timestamp(1_136_214_245 + 5_400, 500_000_000))
        #expect(RFC3339Nano.parse("2006-01-02T15:04:05Z") == timestamp(1_136_214_245))
        let now = Google_Protobuf_Timestamp(date: Date())
        #expect(RFC3339Nano.parse(RFC3339Nano.format(now)) == now)
        for bad in ["", "2006-01-02 15:04:05Z", "2006-01-02T15:04:05", "2006-01-02T15:04:05.Z", "2006-01-02T15:04:05.1234567890Z",
                    "2006-13-02T15:04:05Z", "2006-01-02T15:04:05Zjunk", "2006-01-02T15:04:05+0700"] {
            #expect(RFC3339Nano.parse(bad) == nil, "\(bad)")
        }
    }

    func connection(index: UInt32 = 0) -> Connection_Connection {
        var connection = Connection_Connection()
        connection.id = "c"
        var segment = Connection_PathSegment()
        segment.name = "client"
        segment.token = "in-segment"
        connection.path.pathSegments = [segment]
        connection.path.index = index
        return connection
    }

    @Test("a caller's token and expiry go into its segment; either alone, twice, or a bad time is refused by name")
    func adopt() throws {
        var connection = connection()
        var metadata: Metadata = [ClientTokenMetadata.tokenKey: "from-metadata", ClientTokenMetadata.expiresKey: "2026-11-30T10:00:00.5Z"]
        try ClientTokenMetadata.adopt(metadata, into: &connection)
        #expect(connection.path.pathSegments[0].token == "from-metadata")
        #expect(connection.path.pathSegments[0].expires == timestamp(1_796_032_800, 500_000_000))

        var untouched = self.connection()
        try ClientTokenMetadata.adopt([:], into: &untouched)
        #expect(untouched == self.connection())
        var outOfPath = self.connection(index: 3)
        try ClientTokenMetadata.adopt(metadata, into: &outOfPath)
        #expect(outOfPath == self.connection(index: 3))

        func refusal(_ metadata: Metadata) -> String? {
            var connection = self.connection()
            do { try ClientTokenMetadata.adopt(metadata, into: &connection) } catch let error as NSMError where error.code == .invalidArgument {
                #expect(connection == self.connection())
                return error.message
            } catch { return "unexpected \(error)" }
            return nil
        }
        #expect(refusal([ClientTokenMetadata.tokenKey: "t"])?.contains("go together") == true)
        #expect(refusal([ClientTokenMetadata.expiresKey: "2026-11-30T10:00:00Z"])?.contains("go together") == true)
        metadata.addString("again", forKey: ClientTokenMetadata.tokenKey)
        #expect(refusal(metadata)?.contains("once each (got 2 and 1)") == true)
        #expect(refusal([ClientTokenMetadata.tokenKey: "t", ClientTokenMetadata.expiresKey: "tomorrow"])?.contains("is not an RFC 3339 time") == true)
    }

    @Test("a hop's Request carries its segment's token as metadata too, with the segment's expiry")
    func sent() async throws {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let server = HeldSource(try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-a"), validity: 600), bundle: issuer.bundle)
        let client = HeldSource(try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/ns/default/pod/web-0"), validity: 600), bundle: issuer.bundle)
        let socket = "/tmp/token-metadata-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let transport = LeanServerTransport(address: .unixDomainSocket(path: socket), security: .spiffe(server, server: true))
        let grpcServer = GRPCServer(transport: transport, services: [TokenMetadataEcho()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await grpcServer.serve() }
            defer { grpcServer.beginGracefulShutdown() }
            _ = try await transport.listeningAddress
            let pool = GRPCClientPool(identity: client)
            let peer = try pool.peer(for: try NSMURL("unix://\(socket)"))
            defer { peer.shutDown() }
            var request = Networkservice_NetworkServiceRequest()
            request.connection = connection()
            request.connection.path.pathSegments[0].expires = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(60))
            let answer = try await peer.request(request)
            let segment = answer.path.pathSegments[0]
            #expect(segment.token != "in-segment" && !segment.token.isEmpty)
            #expect(answer.labels[ClientTokenMetadata.tokenKey] == segment.token)
            #expect(answer.labels[ClientTokenMetadata.expiresKey].flatMap(RFC3339Nano.parse) == segment.expires)
            grpcServer.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
