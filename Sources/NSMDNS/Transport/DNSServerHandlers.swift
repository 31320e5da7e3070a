import NIOCore

/// UDP side of a DNS listener: one datagram, one query. Replies given while the read burst
/// is still being handled (cache hits) are flushed together at the end of the burst.
final class DNSDatagramHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let handler: any DNSQueryHandling
    private var inReadBurst = false

    init(handler: any DNSQueryHandling) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes) ?? []
        let remote = envelope.remoteAddress
        let channel = context.channel
        inReadBurst = true
        handler.handle(bytes, transport: .udp, local: envelope.metadata?.packetInfo?.destinationAddress) { [self] response in
            let out = AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: response))
            if inReadBurst { channel.write(out, promise: nil) } else { channel.writeAndFlush(out, promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed send (e.g. ICMP unreachable from a client that left) must not close the listener.
    }
}

/// TCP side: length-framed queries on one connection, answered as they complete.
final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let handler: any DNSQueryHandling

    init(handler: any DNSQueryHandling) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let bytes = frame.getBytes(at: frame.readerIndex, length: frame.readableBytes) ?? []
        let channel = context.channel
        handler.handle(bytes, transport: .tcp, local: channel.localAddress) { response in
            channel.writeAndFlush(channel.allocator.framedDNS(response), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
