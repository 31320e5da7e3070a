import CAllocator
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2


/// Serves gRPC streams of one HTTP/2 connection right on top of NIOHTTP2's connection handler:
/// a stream is an entry in a dictionary (its inbound continuation, its message reassembly
/// buffer), not a child channel with its own pipeline. Confined to the channel's event loop.
final class ServerStreamsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    static let maximumMessageBytes = 4 << 20
    /// A call that received at least this many bytes is followed by `malloc_trim`: its buffers
    /// are freed but the allocator's arenas would keep the pages (requests are a few KiB).
    static let largeRequestBytes = 1 << 20

    /// Internal (not private) for the handler's extensions in other files; confined to the event loop like the rest.
    struct Stream {
        var inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.Continuation
        /// The message being reassembled (and any complete ones not yet taken out).
        var buffer = ByteBuffer()
        var inboundFinished = false
        /// Request bytes (DATA frames) this call holds of the connection window until it ends.
        var held = 0
        var sentHeaders = false
        var sentStatus = false
        let cancellation: CancellationSlot
    }

    private let accept: @Sendable (AcceptedStream) -> Void
    var context: ChannelHandlerContext?
    var streams: [HTTP2StreamID: Stream] = [:]
    private var highestStreamID = HTTP2StreamID(0)
    private var draining = false
    private var window = InboundConnectionWindow()
    private var remotePeer = "", localPeer = ""
    /// The peer's credentials when the connection came over a unix socket.
    private let credentials: UnixPeerCredentials?
    private var caller = ServerCaller(address: "unknown")
    /// With TLS: the peer is identified once, at its first stream (after the handshake).
    private let security: TransportSecurity?
    private var peerIdentity: Result<String, RPCError>?

    init(credentials: UnixPeerCredentials? = nil, security: TransportSecurity? = nil, accept: @escaping @Sendable (AcceptedStream) -> Void) {
        self.credentials = credentials
        self.security = security
        self.accept = accept
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// The context holds this handler: keeping it after removal would keep both (and every
    /// stream's state) alive after the connection closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        remotePeer = Self.describe(context.channel.remoteAddress)
        localPeer = Self.describe(context.channel.localAddress)
        if let credentials {
            remotePeer = "unix:\(context.channel.localAddress?.pathname ?? "") (\(credentials))"
        }
        caller = ServerCaller(unix: credentials, address: remotePeer)
        context.writeAndFlush(wrapOutboundOut(InboundConnectionWindow.opening), promise: nil)
        context.fireChannelActive()
    }

    static func describe(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?: "ipv4:\(v4.host):\(address?.port ?? 0)"
        case .v6(let v6)?: "ipv6:[\(v6.host)]:\(address?.port ?? 0)"
        case .unixDomainSocket?: "unix:\(address?.pathname ?? "")"
        case nil: "unknown"
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        switch frame.payload {
        case .headers(let headers):
            if streams[id] == nil {
                open(id, headers: headers.headers, endStream: headers.endStream, context: context)
            } else if headers.endStream {
                finishInbound(id)
            }
        case .data(let payload):
            let count = InboundConnectionWindow.bytes(payload)
            guard case .byteBuffer(var bytes) = payload.data, streams[id]?.inboundFinished == false,
                  var stream = streams.removeValue(forKey: id)
            else {
                // Not for a call that still reads: given back at once.
                window.hold(count)
                return giveBack(count, context: context)
            }
            window.hold(count)
            stream.held += count
            // Taken out of the dictionary while it grows, so its buffer is held once: appending to a
            // copy would copy the whole partial message on every DATA frame (a message sent in small
            // frames took seconds, and the other calls of the connection waited).
            stream.buffer.writeBuffer(&bytes)
            var messages: [[UInt8]] = []
            var refusal: RPCError?
            while let length = stream.buffer.getInteger(at: stream.buffer.readerIndex + 1, as: UInt32.self) {
                guard stream.buffer.getInteger(at: stream.buffer.readerIndex, as: UInt8.self) == 0 else {
                    refusal = RPCError(code: .unimplemented, message: "compressed messages are not supported (send grpc-encoding identity)")
                    break
                }
                guard length <= Self.maximumMessageBytes else {
                    refusal = RPCError(code: .resourceExhausted, message: "message of \(length) bytes exceeds the \(Self.maximumMessageBytes) bytes accepted")
                    break
                }
                guard stream.buffer.readableBytes >= 5 + Int(length) else { break }
                stream.buffer.moveReaderIndex(forwardBy: 5)
                messages.append(stream.buffer.readBytes(length: Int(length))!)
            }
            if !messages.isEmpty { stream.buffer.discardReadBytes() }
            streams[id] = stream
            if let refusal {
                refuse(id, refusal)
                return
            }
            for message in messages { stream.inbound.yield(.message(message)) }
            if payload.endStream { finishInbound(id) }
        case .rstStream:
            abandon(id, RPCError(code: .cancelled, message: "the client reset the stream"))
        default:
            break
        }
    }

    private func open(_ id: HTTP2StreamID, headers: HPACKHeaders, endStream: Bool, context: ChannelHandlerContext) {
        if id > highestStreamID { highestStreamID = id }
        guard !draining else {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.refusedStream))), promise: nil)
            return
        }
        let (inbound, continuation) = AsyncThrowingStream.makeStream(of: RPCRequestPart<[UInt8]>.self, throwing: (any Error).self)
        streams[id] = Stream(inbound: continuation, cancellation: CancellationSlot())
        if let security {
            if peerIdentity == nil {
                do {
                    let (identity, certificate) = try security.identifyPeer(of: context.pipeline.syncOperations, server: true)
                    peerIdentity = .success(identity)
                    caller.identity = identity
                    caller.certificate = certificate
                    remotePeer += " [\(identity)]"
                } catch {
                    peerIdentity = .failure(RPCError(code: .unauthenticated, message: "the client's certificate is not accepted: \(error)"))
                }
            }
            if case .failure(let error) = peerIdentity {
                refuse(id, error)
                return
            }
        }
        guard let path = headers.first(name: ":path"), let descriptor = Self.descriptor(path) else {
            refuse(id, RPCError(code: .unimplemented, message: "invalid :path \"\(headers.first(name: ":path") ?? "")\" (expected /package.Service/Method)"))
            return
        }
        guard headers.first(name: ":method") == "POST" else {
            refuse(id, RPCError(code: .internalError, message: "gRPC requests are POST, not \(headers.first(name: ":method") ?? "none")"))
            return
        }
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            refuse(id, RPCError(code: .internalError, message: "content-type \"\(headers.first(name: "content-type") ?? "")\" is not application/grpc"))
            return
        }
        var metadata = Metadata()
        for (name, value, _) in headers where !name.hasPrefix(":") && name != "te" && name != "content-type" {
            if name.hasSuffix("-bin"), let bytes = Base64.decode(value) {
                metadata.addBinary(bytes, forKey: name)
            } else {
                metadata.addString(value, forKey: name)
            }
        }
        continuation.yield(.metadata(metadata))
        if endStream { finishInbound(id) }
        let writer = ServerStreamWriter(id: id, handler: NIOLoopBound(self, eventLoop: context.eventLoop), eventLoop: context.eventLoop)
        accept(AcceptedStream(descriptor: descriptor, inbound: inbound, writer: writer, remotePeer: remotePeer, localPeer: localPeer, caller: caller,
                              cancellation: streams[id]!.cancellation))
    }

    /// `/package.Service/Method` → its descriptor.
    static func descriptor(_ path: String) -> MethodDescriptor? {
        guard path.hasPrefix("/") else { return nil }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return MethodDescriptor(fullyQualifiedService: String(parts[0]), method: String(parts[1]))
    }

    private func finishInbound(_ id: HTTP2StreamID) {
        guard var stream = streams[id], !stream.inboundFinished else { return }
        stream.inboundFinished = true
        streams[id] = stream
        if stream.buffer.readableBytes > 0 {
            stream.inbound.finish(throwing: RPCError(code: .internalError, message: "the request ended inside a message"))
        } else {
            stream.inbound.finish()
        }
    }

    /// Gives request bytes back to the connection window (a WINDOW_UPDATE when one is due).
    private func giveBack(_ bytes: Int, context: ChannelHandlerContext) {
        if let update = window.release(bytes) { context.writeAndFlush(wrapOutboundOut(update), promise: nil) }
    }

    /// Answers a stream that cannot be served with a trailers-only status (the RPC never starts);
    /// what it sends from now on is not read.
    private func refuse(_ id: HTTP2StreamID, _ error: RPCError) {
        guard var stream = streams[id] else { return }
        stream.inbound.finish(throwing: error)
        stream.inboundFinished = true
        stream.buffer = ByteBuffer()
        streams[id] = stream
        _ = write(.status(Status(code: Status.Code(error.code), message: error.message), [:]), on: id)
    }

    /// The stream went away (reset by the client, connection closed): its RPC is cancelled.
    private func abandon(_ id: HTTP2StreamID, _ error: RPCError) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        if let context, stream.held > 0 { giveBack(stream.held, context: context) }
        if stream.held >= Self.largeRequestBytes { _ = malloc_trim(0) }
        if !stream.inboundFinished { stream.inbound.finish(throwing: error) }
        // A stream that closes after its status was sent simply ended; otherwise the RPC is cancelled.
        if !stream.sentStatus { stream.cancellation.cancel() }
        closeIfDrained()
    }


    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            abandon(closed.streamID, RPCError(code: .cancelled, message: "the stream closed"))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for id in Array(streams.keys) { abandon(id, RPCError(code: .unavailable, message: "the connection closed")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            abandon(streamError.streamID, RPCError(code: .internalError, message: "HTTP/2 stream error: \(streamError.baseError)"))
            return
        }
        context.close(promise: nil)
    }

    // MARK: Shutdown

    /// Takes no new streams (GOAWAY) and closes the connection once the open ones are done.
    func beginShutdown() {
        guard !draining, let context else { return }
        draining = true
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: highestStreamID, errorCode: .noError, opaqueData: nil))), promise: nil)
        closeIfDrained()
    }

    /// Closes once the last stream ended — after everything written before is on the wire: the
    /// last stream's trailers are still in NIOHTTP2's flush when it reports the stream closed, and
    /// closing then would drop them (its client saw UNAVAILABLE instead of its answer). A final
    /// GOAWAY (same last stream id, as HTTP/2 allows) is written, and the connection closed when
    /// that write completes.
    private func closeIfDrained() {
        guard draining, streams.isEmpty, let context, context.channel.isActive else { return }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: highestStreamID, errorCode: .noError, opaqueData: nil))),
            promise: written)
        written.futureResult.whenComplete { _ in context.close(promise: nil) }
    }
}
