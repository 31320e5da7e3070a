import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import Synchronization

/// A call the server did not process (and the client may therefore send again).
struct UnprocessedCall: Error {
    var reason: String
}

/// Whether a connection still takes new calls, readable from any thread (the handler writes it).
final class ConnectionHealth: Sendable {
    private let usable = Atomic<Bool>(true)
    var isUsable: Bool { usable.load(ordering: .relaxed) }
    func markUnusable() { usable.store(false, ordering: .relaxed) }
}

/// Runs calls as streams of one HTTP/2 connection, right on top of NIOHTTP2's connection handler:
/// a call is a HEADERS and a DATA frame out, HEADERS, DATA and trailers back, matched by stream id
/// in a dictionary — no channel, pipeline or task per call. A unary call's response completes a
/// promise; a server-streaming call's messages go to an async stream as each is complete.
/// Confined to the channel's event loop.
///
/// Inbound flow control is ours (there is no stream multiplexer to do it): ``InboundConnectionWindow``
/// for the connection; a streaming call's window is topped up as its messages arrive.
final class ClientStreamsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise, and the connection window we keep open.
    let maximumResponseBytes: Int

    /// Where a call's response goes.
    enum Receiver {
        /// A unary call: the whole body, once the trailers say OK.
        case unary(EventLoopPromise<ByteBuffer>)
        /// A server-streaming call: each message as soon as it is complete; bytes taken since the
        /// stream's window was last topped up.
        case stream(AsyncThrowingStream<ByteBuffer, any Error>.Continuation, unacknowledged: Int)
    }

    struct Call {
        var receiver: Receiver
        var body: ByteBuffer?
        var httpStatus: String?
        var timer: Scheduled<Void>?
    }

    /// Messages a streaming call may hold that its consumer has not taken yet; past this the
    /// call is reset (`RESOURCE_EXHAUSTED`), so a stalled consumer cannot grow memory without bound.
    static let streamBufferLimit = 4096

    private(set) var context: ChannelHandlerContext?
    var calls: [HTTP2StreamID: Call] = [:]
    private var nextStreamID: Int32 = 1
    private var window = InboundConnectionWindow()
    /// Why new calls cannot start here (GOAWAY received, connection closed); nil while usable.
    private(set) var unusable: String? {
        didSet { if unusable != nil { health.markUnusable() } }
    }
    let health = ConnectionHealth()

    init(maximumResponseBytes: Int) {
        precondition(maximumResponseBytes + 5 < InboundConnectionWindow.size)
        self.maximumResponseBytes = maximumResponseBytes
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        failAll(RPCError(code: .unavailable, message: "connection handler removed"))
    }

    func channelActive(context: ChannelHandlerContext) {
        // NIOHTTP2Handler (before us) has written the preface and SETTINGS; open the connection window.
        context.writeAndFlush(wrapOutboundOut(InboundConnectionWindow.opening), promise: nil)
        context.fireChannelActive()
    }

    /// Starts a unary call; `promise` gets the response body (all DATA) or the call's error.
    func start(path: String, authority: String, metadata: CallMetadata, message: ByteBuffer, timeout: Duration?, promise: EventLoopPromise<ByteBuffer>) {
        guard unusable == nil, context != nil else {
            promise.fail(UnprocessedCall(reason: unusable ?? "connection is not open"))
            return
        }
        open(path: path, authority: authority, metadata: metadata, message: message, timeout: timeout, receiver: .unary(promise))
    }

    @discardableResult
    func open(path: String, authority: String, metadata: CallMetadata, message: ByteBuffer, timeout: Duration?, receiver: Receiver) -> HTTP2StreamID {
        let context = self.context!
        let id = HTTP2StreamID(nextStreamID)
        if nextStreamID > Int32.max - 2 {
            unusable = "stream ids exhausted on this connection"
        } else {
            nextStreamID += 2
        }
        var call = Call(receiver: receiver)
        if let timeout {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            call.timer = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
                bound.value.reset(id, with: RPCError(code: .deadlineExceeded, message: "no response within \(timeout)"))
            }
        }
        calls[id] = call
        let headers = GRPCFraming.requestHeaders(path: path, authority: authority, timeout: timeout, metadata: metadata)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(message), endStream: true)))), promise: nil)
        context.flush()
        return id
    }

    /// Abandons the unary call whose result `future` is (the caller's task was cancelled).
    func cancel(_ future: EventLoopFuture<ByteBuffer>) {
        let id = calls.first { _, call in
            if case .unary(let promise) = call.receiver { return promise.futureResult === future }
            return false
        }?.key
        guard let id else { return }
        reset(id, with: RPCError(code: .cancelled, message: "the caller cancelled the call"))
    }

    func reset(_ id: HTTP2StreamID, with error: RPCError) {
        guard let call = calls.removeValue(forKey: id) else { return }
        call.timer?.cancel()
        Self.complete(call.receiver, .failure(error))
        context?.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))), promise: nil)
        closeIfDrained()
    }

    /// Ends a call: a unary call's promise gets the body, a stream's consumer its end (the body is
    /// not used: its messages went out as they came).
    func finish(_ id: HTTP2StreamID, _ result: Result<ByteBuffer, RPCError>) {
        guard let call = calls.removeValue(forKey: id) else { return }
        call.timer?.cancel()
        Self.complete(call.receiver, result.mapError { $0 as any Error })
        closeIfDrained()
    }

    private static func complete(_ receiver: Receiver, _ result: Result<ByteBuffer, any Error>) {
        switch (receiver, result) {
        case (.unary(let promise), _): promise.completeWith(result)
        case (.stream(let messages, _), .success): messages.finish()
        case (.stream(let messages, _), .failure(let error)): messages.finish(throwing: error)
        }
    }

    /// Takes no new calls (a newer connection replaces this one) and closes once the last is done.
    func retire(_ reason: String) {
        if unusable == nil { unusable = reason }
        closeIfDrained()
    }

    /// A connection that takes no new calls is closed once its last call is done.
    private func closeIfDrained() {
        if unusable != nil, calls.isEmpty, let context, context.channel.isActive { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            guard var call = calls[frame.streamID] else { return }
            if call.httpStatus == nil, let status = headers.headers.first(name: ":status") {
                // Response headers, or a trailers-only response when the stream ends here.
                call.httpStatus = status
                calls[frame.streamID] = call
                if headers.endStream { finishWithTrailers(frame.streamID, headers.headers) }
            } else {
                finishWithTrailers(frame.streamID, headers.headers)
            }
        case .data(let payload):
            if let update = window.consume(payload) { context.writeAndFlush(wrapOutboundOut(update), promise: nil) }
            guard case .byteBuffer(var bytes) = payload.data, let receiver = calls[frame.streamID]?.receiver else { return }
            if case .stream = receiver {
                deliver(&bytes, of: frame.streamID, endStream: payload.endStream, context: context)
                return
            }
            // Taken out while its body grows, so the body is held once (a copy would be copied whole on every frame).
            var call = calls.removeValue(forKey: frame.streamID)!
            if call.body == nil {
                call.body = bytes
            } else {
                call.body!.writeBuffer(&bytes)
            }
            if call.body!.readableBytes > maximumResponseBytes + 5 {
                calls[frame.streamID] = call
                reset(frame.streamID, with: RPCError(
                    code: .resourceExhausted, message: "response larger than the \(maximumResponseBytes) bytes this client accepts"))
                return
            }
            calls[frame.streamID] = call
            if payload.endStream {
                finish(frame.streamID, .failure(RPCError(code: .internalError, message: "stream ended without trailers")))
            }
        case .rstStream(let code):
            if code == .refusedStream {
                finishUnprocessed(frame.streamID, reason: "the server refused the stream")
            } else {
                finish(frame.streamID, .failure(RPCError(code: .unknown, message: "the server reset the stream (\(code))")))
            }
        case .goAway(let lastStreamID, let code, _):
            unusable = "the server is closing the connection (GOAWAY \(code))"
            for id in calls.keys where id > lastStreamID {
                finishUnprocessed(id, reason: "the server is closing the connection (GOAWAY \(code)) before this call")
            }
            closeIfDrained()
        default:
            break
        }
    }

    /// The server never processed the call (GOAWAY before it, stream refused): the client may
    /// send it again on a new connection.
    private func finishUnprocessed(_ id: HTTP2StreamID, reason: String) {
        guard let call = calls.removeValue(forKey: id) else { return }
        call.timer?.cancel()
        Self.complete(call.receiver, .failure(UnprocessedCall(reason: reason)))
        closeIfDrained()
    }

    private func finishWithTrailers(_ id: HTTP2StreamID, _ trailers: HPACKHeaders) {
        guard let call = calls[id] else { return }
        if let error = GRPCFraming.status(trailers: trailers, httpStatus: call.httpStatus) {
            finish(id, .failure(error))
            return
        }
        if case .stream = call.receiver {
            let rest = call.body?.readableBytes ?? 0
            finish(id, rest == 0 ? .success(ByteBuffer()) : .failure(RPCError(code: .internalError, message: "stream ended inside a message (\(rest) bytes left)")))
            return
        }
        do {
            guard let message = try GRPCFraming.singleMessage(in: call.body ?? ByteBuffer()) else {
                finish(id, .failure(RPCError(code: .internalError, message: "unary response ended OK without a message")))
                return
            }
            finish(id, .success(message))
        } catch {
            finish(id, .failure(error))
        }
    }


    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent, calls[closed.streamID] != nil {
            finish(closed.streamID, .failure(RPCError(code: .unavailable, message: "stream closed before the response (\(closed.reason.map { "\($0)" } ?? "no reason"))")))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(code: .unavailable, message: "the connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            finish(streamError.streamID, .failure(RPCError(code: .internalError, message: "HTTP/2 stream error: \(streamError.baseError)")))
            return
        }
        failAll(RPCError(code: .unavailable, message: "connection error: \(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        if unusable == nil { unusable = error.message }
        let pending = calls
        calls = [:]
        for call in pending.values {
            call.timer?.cancel()
            Self.complete(call.receiver, .failure(error))
        }
    }
}
