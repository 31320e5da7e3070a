import IPAddressing
import NIOCore
import NIOPosix

/// One query over TCP to an upstream (after a truncated UDP answer): connect, send, read one
/// framed answer, close. Runs on the proxy's loop, so the socket is in its namespace.
enum DNSUpstreamTCP {
    static func query(_ bytes: [UInt8], to upstream: DNSUpstream, on loop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<[UInt8]> {
        let promise = loop.makePromise(of: [UInt8].self)
        let connect = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(OneAnswerHandler(promise: promise))
                }
            }
            .connect(host: upstream.address.description, port: Int(upstream.port))
        connect.whenSuccess { channel in
            channel.writeAndFlush(channel.allocator.framedDNS(bytes), promise: nil)
            let timer = loop.scheduleTask(in: timeout) {
                promise.fail(ChannelError.connectTimeout(timeout))
            }
            promise.futureResult.whenComplete { _ in
                timer.cancel()
                channel.close(promise: nil)
            }
        }
        connect.whenFailure { promise.fail($0) }
        return promise.futureResult
    }

    private final class OneAnswerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<[UInt8]>
        init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            promise.succeed(frame.getBytes(at: frame.readerIndex, length: frame.readableBytes) ?? [])
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.eof)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
