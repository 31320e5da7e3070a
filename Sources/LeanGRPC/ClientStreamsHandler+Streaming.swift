import GRPCCore
import NIOCore
import NIOHTTP2

/// Server-streaming calls: started, stopped by their consumer, and fed message by message.
extension ClientStreamsHandler {
    /// Starts a server-streaming call; `messages` gets each response message, then ends with the
    /// call's status. Returns the call's stream id (to reset it when the consumer stops), `nil`
    /// when the connection takes no new calls (`messages` has ended with ``UnprocessedCall``).
    func startStream(
        path: String, authority: String, metadata: CallMetadata, message: ByteBuffer, messages: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    ) -> HTTP2StreamID? {
        guard unusable == nil, context != nil else {
            messages.finish(throwing: UnprocessedCall(reason: unusable ?? "connection is not open"))
            return nil
        }
        return open(path: path, authority: authority, metadata: metadata, message: message, timeout: nil, receiver: .stream(messages, unacknowledged: 0))
    }

    /// Resets a streaming call the consumer no longer reads (nothing if it already ended).
    func stopStream(_ id: HTTP2StreamID) {
        reset(id, with: RPCError(code: .cancelled, message: "the caller stopped reading the stream"))
    }

    /// A streaming call's DATA: each message complete in what arrived goes to the consumer; the
    /// stream's window is topped up once half of it was taken.
    func deliver(_ bytes: inout ByteBuffer, of id: HTTP2StreamID, endStream: Bool, context: ChannelHandlerContext) {
        // Taken out of the dictionary while its buffer grows, so the buffer is held once (appending
        // to a copy would copy it whole on every frame); put back before anything else looks.
        guard case .stream(let messages, var unacknowledged)? = calls[id]?.receiver, var call = calls.removeValue(forKey: id) else { return }
        unacknowledged += bytes.readableBytes
        if call.body == nil { call.body = bytes } else { call.body!.writeBuffer(&bytes) }
        var refusal: RPCError?
        while var body = call.body, let length = body.getInteger(at: body.readerIndex + 1, as: UInt32.self) {
            guard body.getInteger(at: body.readerIndex, as: UInt8.self) == 0 else {
                refusal = RPCError(code: .internalError, message: "response message is compressed, but this client asked for no compression")
                break
            }
            guard Int(length) <= maximumResponseBytes else {
                refusal = RPCError(code: .resourceExhausted, message: "response message of \(length) bytes is larger than the \(maximumResponseBytes) bytes this client accepts")
                break
            }
            guard body.readableBytes >= 5 + Int(length) else { break }
            body.moveReaderIndex(forwardBy: 5)
            let message = body.readSlice(length: Int(length))!
            call.body = body.readableBytes > 0 ? body : nil
            if case .dropped = messages.yield(message) {
                refusal = RPCError(code: .resourceExhausted, message: "the caller has not read the last \(Self.streamBufferLimit) messages of the stream")
                break
            }
        }
        // Bytes already delivered are dropped from a buffer that keeps a partial message.
        if let readerIndex = call.body?.readerIndex, readerIndex > 64 << 10 { call.body!.discardReadBytes() }
        if unacknowledged >= InboundConnectionWindow.size / 2 {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: unacknowledged))), promise: nil)
            unacknowledged = 0
        }
        call.receiver = .stream(messages, unacknowledged: unacknowledged)
        calls[id] = call
        if let refusal {
            reset(id, with: refusal)
        } else if endStream {
            finish(id, .failure(RPCError(code: .internalError, message: "stream ended without trailers")))
        }
    }
}
