import GRPCCore
@testable import LeanGRPC
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Synchronization
import Testing

/// The frame logic of one connection, driven frame by frame (no sockets, no HTTP/2 codec).
@Suite("Unary streams handler, frame by frame")
struct ClientStreamsHandlerTests {
    final class Outcome: Sendable {
        let result = Mutex<Result<ByteBuffer, any Error>?>(nil)
        init(_ future: EventLoopFuture<ByteBuffer>) {
            future.whenComplete { [self] outcome in result.withLock { $0 = outcome } }
        }
        var value: Result<ByteBuffer, any Error>? { result.withLock { $0 } }
        var rpcError: RPCError? { if case .failure(let error as RPCError)? = value { error } else { nil } }
        var isUnprocessed: Bool { if case .failure(_ as UnprocessedCall)? = value { true } else { false } }
    }

    struct Harness {
        let channel = EmbeddedChannel()
        let handler = ClientStreamsHandler(maximumResponseBytes: 1 << 20)

        init() throws {
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func start(_ path: String = "/s.S/M") -> Outcome {
            let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
            handler.start(path: path, authority: "localhost", metadata: [], message: ByteBuffer(bytes: [0, 0, 0, 0, 1, 7]), timeout: .seconds(5), promise: promise)
            return Outcome(promise.futureResult)
        }

        func outbound() throws -> [HTTP2Frame] {
            var frames: [HTTP2Frame] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame) }
            return frames
        }

        func receive(_ stream: Int32, _ payload: HTTP2Frame.FramePayload) throws {
            try channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: payload))
        }

        func headers(_ stream: Int32, _ headers: HPACKHeaders, end: Bool = false) throws {
            try receive(stream, .headers(.init(headers: headers, endStream: end)))
        }

        func data(_ stream: Int32, _ bytes: [UInt8], end: Bool = false) throws {
            try receive(stream, .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: end)))
        }
    }

    @Test("opens the connection window, sends HEADERS then DATA with end of stream on odd stream ids")
    func outboundFrames() throws {
        let harness = try Harness()
        let opening = try harness.outbound()
        #expect(opening.count == 1 && opening[0].streamID == .rootStream)
        if case .windowUpdate(let increment) = opening[0].payload { #expect(increment == InboundConnectionWindow.size - 65_535) } else { Issue.record("no WINDOW_UPDATE") }
        _ = harness.start("/a.B/C")
        _ = harness.start()
        let frames = try harness.outbound()
        #expect(frames.map(\.streamID) == [1, 1, 3, 3].map { HTTP2StreamID($0) })
        guard case .headers(let headers) = frames[0].payload, case .data(let data) = frames[1].payload else {
            Issue.record("expected HEADERS then DATA, got \(frames)")
            return
        }
        #expect(headers.headers.first(name: ":path") == "/a.B/C" && !headers.endStream)
        #expect(data.endStream)
    }

    @Test("headers, data and OK trailers complete the call with the message")
    func success() throws {
        let harness = try Harness()
        let call = harness.start()
        try harness.headers(1, [":status": "200", "content-type": "application/grpc"])
        try harness.data(1, [0, 0, 0, 0, 2])
        try harness.data(1, [9, 8])
        #expect(call.value == nil)
        try harness.headers(1, ["grpc-status": "0"], end: true)
        guard case .success(let message)? = call.value else { Issue.record("not completed: \(String(describing: call.value))"); return }
        #expect(Array(message.readableBytesView) == [9, 8])
    }

    @Test("a trailers-only response fails the call with its status")
    func trailersOnly() throws {
        let harness = try Harness()
        let call = harness.start()
        try harness.headers(1, [":status": "200", "grpc-status": "5", "grpc-message": "gone"], end: true)
        #expect(call.rpcError?.code == .notFound && call.rpcError?.message == "gone")
    }

    @Test("GOAWAY: calls after the last stream id are unprocessed (to retry), earlier ones go on, new ones are refused")
    func goAway() throws {
        let harness = try Harness()
        let first = harness.start(), second = harness.start()
        try harness.receive(0, .goAway(lastStreamID: 1, errorCode: .noError, opaqueData: nil))
        #expect(second.isUnprocessed)
        #expect(first.value == nil)
        try harness.headers(1, [":status": "200"])
        try harness.data(1, [0, 0, 0, 0, 0])
        try harness.headers(1, ["grpc-status": "0"], end: true)
        if case .success? = first.value {} else { Issue.record("the call before GOAWAY did not finish: \(String(describing: first.value))") }
        #expect(!harness.handler.health.isUsable)
        // Its last call done, the connection closes itself; new calls are refused (the client opens another).
        #expect(!harness.channel.isActive)
        #expect(harness.start().isUnprocessed)
    }

    @Test("a refused stream is unprocessed; another reset is an error; a closed connection fails what is pending")
    func resets() throws {
        let harness = try Harness()
        let refused = harness.start(), reset = harness.start(), pending = harness.start()
        try harness.receive(1, .rstStream(.refusedStream))
        try harness.receive(3, .rstStream(.internalError))
        #expect(refused.isUnprocessed)
        #expect(reset.rpcError?.code == .unknown)
        #expect(pending.value == nil)
        try harness.channel.close().wait()
        #expect(pending.rpcError?.code == .unavailable)
    }

    @Test("DATA ending the stream without trailers is an error; an oversized response is refused and reset")
    func malformed() throws {
        let harness = try Harness()
        let noTrailers = harness.start()
        try harness.headers(1, [":status": "200"])
        try harness.data(1, [0, 0, 0, 0, 0], end: true)
        #expect(noTrailers.rpcError?.code == .internalError)
        let big = try Harness()
        let call = big.start()
        _ = try big.outbound()
        try big.headers(1, [":status": "200"])
        try big.data(1, [UInt8](repeating: 0, count: (1 << 20) + 6))
        #expect(call.rpcError?.code == .resourceExhausted)
        let resets = try big.outbound().filter { if case .rstStream = $0.payload { true } else { false } }
        #expect(resets.count == 1)
    }
}
