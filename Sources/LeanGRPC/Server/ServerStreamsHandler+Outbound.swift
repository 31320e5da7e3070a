import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The outbound side of a connection's calls: response headers, messages and the status,
/// written in order with backpressure (the returned future), for ``ServerStreamWriter``.
extension ServerStreamsHandler {
    /// Writes one response part; the future completes when it is written (backpressure).
    func write(_ part: RPCResponsePart<[UInt8]>, on id: HTTP2StreamID) -> EventLoopFuture<Void>? {
        guard let context, var stream = streams[id], !stream.sentStatus else { return nil }
        let promise = context.eventLoop.makePromise(of: Void.self)
        switch part {
        case .metadata(let metadata):
            var headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
            Self.add(metadata, to: &headers)
            stream.sentHeaders = true
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: promise)
        case .message(let bytes):
            if !stream.sentHeaders {
                stream.sentHeaders = true
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: [":status": "200", "content-type": "application/grpc"])))), promise: nil)
            }
            let framed = GRPCFraming.lengthPrefixed(bytes, allocator: context.channel.allocator)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed))))), promise: promise)
        case .status(let status, let trailers):
            var headers: HPACKHeaders = stream.sentHeaders ? [:] : [":status": "200", "content-type": "application/grpc"]
            headers.add(name: "grpc-status", value: String(status.code.rawValue))
            if !status.message.isEmpty { headers.add(name: "grpc-message", value: GRPCFraming.percentEncoded(GRPCFraming.capped(status.message))) }
            Self.add(trailers, to: &headers)
            stream.sentStatus = true
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: true)))), promise: promise)
        }
        streams[id] = stream
        context.flush()
        return promise.futureResult
    }

    /// The handler finished writing; an error without a status resets the stream.
    func finishWriting(_ id: HTTP2StreamID, error: (any Error)?) {
        guard let context, let stream = streams[id], !stream.sentStatus else { return }
        if let error {
            let rpcError = (error as? RPCError) ?? RPCError(code: .internalError, message: "\(error)")
            _ = write(.status(Status(code: Status.Code(rpcError.code), message: rpcError.message), [:]), on: id)
        } else {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.internalError))), promise: nil)
        }
    }

    static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for (key, value) in metadata {
            switch value {
            case .string(let text): headers.add(name: key, value: text)
            case .binary(let bytes): headers.add(name: key, value: Base64.encode(bytes))
            }
        }
    }
}
