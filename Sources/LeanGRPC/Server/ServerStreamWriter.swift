import GRPCCore
import NIOCore
import NIOHTTP2

/// The outbound side of one stream, for grpc-swift's server executor.
struct ServerStreamWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCResponsePart<[UInt8]>
    let id: HTTP2StreamID
    let handler: NIOLoopBound<ServerStreamsHandler>
    let eventLoop: any EventLoop

    func write(_ element: Element) async throws {
        let written: EventLoopFuture<Void>? = if eventLoop.inEventLoop {
            handler.value.write(element, on: id)
        } else {
            try await eventLoop.submit { handler.value.write(element, on: id) }.get()
        }
        guard let written else { throw RPCError(code: .unavailable, message: "the stream is closed") }
        try await written.get()
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async {
        finish(nil)
    }

    func finish(throwing error: any Error) async {
        finish(error)
    }

    private func finish(_ error: (any Error)?) {
        let handler = self.handler, id = self.id
        if eventLoop.inEventLoop {
            handler.value.finishWriting(id, error: error)
        } else {
            eventLoop.execute { handler.value.finishWriting(id, error: error) }
        }
    }
}
