public import IPAddressing
import NIOCore
import NIOPosix

/// A plain DNS client over UDP or TCP, for tests, benchmarks and the demo. Its sockets are made
/// on its own event loop thread, after `threadSetup` (e.g. entering a network namespace).
public final class DNSClient: Sendable {
    let group: MultiThreadedEventLoopGroup
    let ready: EventLoopFuture<Void>

    public init(threads: Int = 1, threadSetup: (@Sendable () throws -> Void)? = nil) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let setups = group.makeIterator().map { loop in loop.submit { try threadSetup?() } }
        ready = EventLoopFuture.andAllSucceed(setups, on: group.next())
    }

    // Not the sync variant: that traps when the last reference goes away on an event loop thread.
    deinit { group.shutdownGracefully { _ in } }

    public struct Timeout: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `query` to `server` and returns the answer's bytes.
    public func exchange(_ query: [UInt8], server: IPAddress, port: UInt16 = 53, transport: DNSTransport = .udp,
                         timeout: TimeAmount = .seconds(5)) async throws -> [UInt8] {
        try await ready.get()
        let loop = group.next()
        let host = server.description, remote = try SocketAddress(ipAddress: host, port: Int(port))
        if transport == .tcp {
            return try await DNSUpstreamTCP.query(query, to: DNSUpstream(address: server, port: port), on: loop, timeout: timeout).get()
        }
        let promise = loop.makePromise(of: [UInt8].self)
        let timer = loop.scheduleTask(in: timeout) { promise.fail(Timeout(description: "no answer from \(host):\(port) over \(transport) within \(timeout.nanoseconds / 1_000_000) ms")) }
        let channel: EventLoopFuture<any Channel> = loop.flatSubmit {
            DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramAnswerHandler(promise: promise)) }
                }
                .connect(to: remote)
                .map { channel in
                    channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: query)), promise: nil)
                    return channel
                }
        }
        channel.whenFailure { promise.fail($0) }
        defer {
            timer.cancel()
            channel.whenSuccess { $0.close(promise: nil) }
        }
        return try await promise.futureResult.get()
    }

    /// Asks one question and returns the parsed answer.
    public func query(_ question: DNSQuestion, server: IPAddress, port: UInt16 = 53, transport: DNSTransport = .udp,
                      udpPayloadSize: UInt16? = nil, timeout: TimeAmount = .seconds(5)) async throws -> DNSMessage {
        let query = DNSMessage.query(question, id: UInt16.random(in: 0...UInt16.max), udpPayloadSize: udpPayloadSize)
        return try DNSMessage(bytes: try await exchange(query.serialized(), server: server, port: port, transport: transport, timeout: timeout))
    }

    private final class DatagramAnswerHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let promise: EventLoopPromise<[UInt8]>
        init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data).data
            promise.succeed(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [])
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
        }
    }
}
