import IPAddressing
import NIOCore
import NIOPosix

/// Where a DNS listener binds: an IP and a port (0 picks a free one, the same for UDP and TCP).
public struct DNSListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `IP:PORT` or `[IPv6]:PORT`.
    public init(parsing text: String) throws(DNSConfigurationError) {
        let (address, port) = try DNSUpstream.parseServer(Substring(text), whole: text)
        self.init(host: address.description, port: Int(port))
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// UDP and TCP channels serving one address with a query handler, all on one event loop.
struct DNSListener {
    let udp: any Channel
    let tcp: any Channel

    var address: DNSListenAddress {
        DNSListenAddress(host: udp.localAddress?.ipAddress ?? "?", port: udp.localAddress?.port ?? 0)
    }

    /// Binds on `loop` (sockets are created on the loop's thread, so in its network namespace).
    /// Each datagram comes with the address it was sent to (for `NAME=self` answers).
    static func bind(_ address: DNSListenAddress, on loop: any EventLoop, handler: any DNSQueryHandling,
                     tcpIdleTimeout: TimeAmount = .seconds(10)) -> EventLoopFuture<DNSListener> {
        loop.flatSubmit {
            let udp = DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelOption(.datagramVectorReadMessageCount, value: 8)
                .channelOption(.receivePacketInfo, value: true)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 2048))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DNSDatagramHandler(handler: handler)) }
                }
                .bind(host: address.host, port: address.port)
            return udp.flatMap { udp in
                bindStream(DNSListenAddress(host: address.host, port: udp.localAddress?.port ?? address.port), on: loop, handler: handler,
                           tcpIdleTimeout: tcpIdleTimeout)
                    .map { DNSListener(udp: udp, tcp: $0) }
                    .flatMapErrorThrowing { error in
                        udp.close(promise: nil)
                        throw error
                    }
            }
        }
    }

    /// The TCP side alone (the proxy serves UDP with its own thread). An idle client
    /// connection is closed (RFC 7766 §6.2.3).
    static func bindStream(_ address: DNSListenAddress, on loop: any EventLoop, handler: any DNSQueryHandling,
                           tcpIdleTimeout: TimeAmount) -> EventLoopFuture<any Channel> {
        loop.flatSubmit {
            ServerBootstrap(group: loop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: tcpIdleTimeout))
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(DNSStreamHandler(handler: handler))
                    }
                }
                .bind(host: address.host, port: address.port)
        }
    }

    func close() async {
        try? await udp.close()
        try? await tcp.close()
    }
}
