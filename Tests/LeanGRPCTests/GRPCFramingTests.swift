import GRPCCore
@testable import LeanGRPC
import NIOCore
import NIOHPACK
import Testing

@Suite("gRPC framing for unary calls")
struct GRPCFramingTests {
    @Test("grpc-timeout takes the finest unit that fits in 8 digits")
    func timeout() {
        #expect(GRPCFraming.grpcTimeout(.milliseconds(15)) == "15000000n")
        #expect(GRPCFraming.grpcTimeout(.seconds(15)) == "15000000u")
        #expect(GRPCFraming.grpcTimeout(.seconds(1000)) == "1000000m")
        #expect(GRPCFraming.grpcTimeout(.seconds(200_000)) == "200000S")
    }

    @Test("a message is prefixed with a zero flag and its big-endian length, and read back")
    func lengthPrefix() throws {
        let framed = GRPCFraming.lengthPrefixed([1, 2, 3], allocator: .init())
        #expect(Array(framed.readableBytesView) == [0, 0, 0, 0, 3, 1, 2, 3])
        let message = try #require(try GRPCFraming.singleMessage(in: framed))
        #expect(Array(message.readableBytesView) == [1, 2, 3])
        #expect(try GRPCFraming.singleMessage(in: ByteBuffer()) == nil)
        #expect(throws: RPCError.self) { try GRPCFraming.singleMessage(in: ByteBuffer(bytes: [0, 0, 0, 0, 9, 1])) }
        #expect(throws: RPCError.self) { try GRPCFraming.singleMessage(in: ByteBuffer(bytes: [1, 0, 0, 0, 1, 1])) }
        #expect(throws: RPCError.self) { try GRPCFraming.singleMessage(in: ByteBuffer(bytes: [0, 0, 0, 0, 1, 1, 0])) }
    }

    @Test("status: OK is nil, others keep code and decoded message, no grpc-status maps the HTTP status")
    func status() {
        #expect(GRPCFraming.status(trailers: ["grpc-status": "0"], httpStatus: "200") == nil)
        let notFound = GRPCFraming.status(trailers: ["grpc-status": "5", "grpc-message": "100%25 %C3%BC"], httpStatus: "200")
        #expect(notFound?.code == .notFound)
        #expect(notFound?.message == "100% ü")
        #expect(GRPCFraming.status(trailers: ["grpc-status": "x"], httpStatus: "200")?.code == .unknown)
        #expect(GRPCFraming.status(trailers: [:], httpStatus: "503")?.code == .unavailable)
        #expect(GRPCFraming.status(trailers: [:], httpStatus: "404")?.code == .unimplemented)
        #expect(GRPCFraming.status(trailers: [:], httpStatus: nil)?.code == .unknown)
    }

    @Test("request headers: pseudo-headers first, gRPC content type, te: trailers, the timeout")
    func headers() {
        let headers = GRPCFraming.requestHeaders(path: "/a.B/C", authority: "localhost", timeout: .seconds(1))
        #expect(headers.map(\.name) == [":method", ":scheme", ":path", ":authority", "content-type", "te", "grpc-timeout"])
        #expect(headers.first(name: ":path") == "/a.B/C")
        #expect(headers.first(name: "grpc-timeout") == "1000000u")
        #expect(!GRPCFraming.requestHeaders(path: "/a.B/C", authority: "h", timeout: nil).contains(name: "grpc-timeout"))
    }

    @Test("a call's metadata follows gRPC's own headers, in order")
    func metadata() {
        let headers = GRPCFraming.requestHeaders(path: "/a.B/C", authority: "h", timeout: nil, metadata: [("nsm-client-token", "t"), ("x-b", "2")])
        #expect(headers.map(\.name) == [":method", ":scheme", ":path", ":authority", "content-type", "te", "nsm-client-token", "x-b"])
        #expect(headers.first(name: "nsm-client-token") == "t")
    }
}

@Suite("Base64 for binary metadata")
struct Base64Tests {
    @Test("round trips every length, decodes unpadded input, refuses other characters")
    func roundTrip() {
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            let text = Base64.encode(bytes)
            #expect(text.count % 4 == 0)
            #expect(Base64.decode(text) == bytes)
            #expect(Base64.decode(String(text.filter { $0 != "=" })) == bytes)
        }
        #expect(Base64.encode(Array("Man".utf8)) == "TWFu")
        #expect(Base64.encode(Array("Ma".utf8)) == "TWE=")
        #expect(Base64.decode("TW E=") == nil)
    }
}

@Suite("Status messages are capped")
struct StatusMessageCapTests {
    @Test("a short message is sent as is; a long one is cut at a character boundary, saying how much went")
    func capped() {
        #expect(GRPCFraming.capped("no such endpoint") == "no such endpoint")
        let long = String(repeating: "a", count: 1_000_000)
        let cut = GRPCFraming.capped(long)
        #expect(cut.utf8.count <= GRPCFraming.maximumStatusMessageBytes)
        #expect(cut.hasPrefix("aaaa") && cut.hasSuffix("more bytes cut)"))
        #expect(cut.contains("… (\(1_000_000 - 984) more bytes cut)"))
        // Multi-byte characters are never split.
        let wide = String(repeating: "é", count: 3000)
        let cutWide = GRPCFraming.capped(wide)
        #expect(cutWide.utf8.count <= GRPCFraming.maximumStatusMessageBytes)
        #expect(cutWide.unicodeScalars.allSatisfy { $0 != "\u{FFFD}" })
        #expect(cutWide.hasPrefix("éé"))
    }
}
