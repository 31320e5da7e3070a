#if canImport(Glibc)
import Glibc
#endif
public import GRPCCore
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Readiness
import Synchronization

/// A gRPC server transport for grpc-swift's `GRPCServer`, built like ``LeanGRPCClient``:
/// each HTTP/2 connection has NIOHTTP2's connection handler and one ``ServerStreamsHandler``
/// that keeps its streams in a dictionary — no child channel, pipeline or async channel per
/// RPC. The server's router and executor (deadlines from `grpc-timeout`, status, interceptors)
/// are grpc-swift's, so every service works unchanged; only the per-stream machinery below
/// them is leaner. Same wire: any gRPC client talks to it.
public final class LeanServerTransport: ServerTransport, Sendable {
    public typealias Bytes = [UInt8]

    /// A TCP listener is a SwiftNIO server channel; a unix one is ours (see ``UnixListener``).
    private enum Listener: Sendable {
        case channel(any Channel)
        case unix(UnixListener)

        var isActive: Bool {
            switch self {
            case .channel(let channel): channel.isActive
            case .unix(let listener): !listener.isStopped
            }
        }
    }

    private struct State {
        var listener: Listener?
        var connections: [ObjectIdentifier: (channel: any Channel, streams: NIOLoopBound<ServerStreamsHandler>)] = [:]
        var shuttingDown = false
        var acceptor: AsyncStream<AcceptedStream>.Continuation?
    }

    /// Calls one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; a client
    /// queues the ones past it). With the connection window this bounds what one connection can
    /// make the server hold: each waiting call costs some 18 KB (its task and streams), and
    /// request bytes at most ``InboundConnectionWindow/size`` together — about 26 MB.
    public static let maximumConcurrentStreams = 1_024

    public let address: GRPCAddress
    let group: any EventLoopGroup
    private let state = Mutex(State())
    private let ready = ReadySignal<GRPCAddress>()

    /// TLS under HTTP/2 (unix sockets and TCP alike), or `nil` for plaintext.
    public let security: TransportSecurity?

    public init(address: GRPCAddress, security: TransportSecurity? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.address = address
        self.security = security
        self.group = group
    }

    /// The address the transport listens on, once it does (the real port when given port 0).
    public var listeningAddress: GRPCAddress {
        get async throws {
            try await ready.wait()
        }
    }

    public func listen(
        streamHandler: @escaping @Sendable (_ stream: RPCStream<Inbound, Outbound>, _ context: ServerContext) async -> Void
    ) async throws {
        let (accepted, acceptor) = AsyncStream.makeStream(of: AcceptedStream.self)
        state.withLock { $0.acceptor = acceptor }
        let listener: Listener
        do {
            listener = try await bind { stream in acceptor.yield(stream) }
        } catch {
            ready.fail(error)
            acceptor.finish()
            throw error
        }
        let bound: GRPCAddress = switch address {
        case .unixDomainSocket: address
        case .tcp(let host, _):
            if case .channel(let channel) = listener { .tcp(host: host, port: channel.localAddress?.port ?? 0) } else { address }
        }
        let stopNow = state.withLock { state in
            state.listener = listener
            return state.shuttingDown
        }
        ready.resolve(bound)
        if stopNow { beginGracefulShutdown() }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await stream in accepted {
                    group.addTask { await Self.serve(stream, with: streamHandler) }
                }
            }
        } onCancel: {
            self.closeEverything()
        }
    }

    private static func serve(
        _ stream: AcceptedStream, with handler: @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async {
        await withServerContextRPCCancellationHandle { cancellation in
            stream.cancellation.attach(cancellation)
            let rpc = RPCStream(
                descriptor: stream.descriptor, inbound: RPCAsyncSequence(wrapping: stream.inbound),
                outbound: RPCWriter.Closable(wrapping: stream.writer))
            let context = ServerContext(descriptor: stream.descriptor, remotePeer: stream.remotePeer, localPeer: stream.localPeer, cancellation: cancellation)
            await ServerCaller.$current.withValue(stream.caller) { await handler(rpc, context) }
        }
    }

    private func bind(_ accept: @escaping @Sendable (AcceptedStream) -> Void) async throws -> Listener {
        let security = self.security
        @Sendable func initialize(_ channel: any Channel, credentials: UnixPeerCredentials?) -> EventLoopFuture<Void> {
            channel.eventLoop.makeCompletedFuture {
                if let security { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: try security.context())) }
                let settings: HTTP2Settings = [
                    HTTP2Setting(parameter: .maxConcurrentStreams, value: Self.maximumConcurrentStreams),
                    HTTP2Setting(parameter: .initialWindowSize, value: InboundConnectionWindow.size),
                    HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 10),
                ]
                let streams = ServerStreamsHandler(credentials: credentials, security: security, accept: accept)
                try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
                try channel.pipeline.syncOperations.addHandler(streams)
                self.track(channel, NIOLoopBound(streams, eventLoop: channel.eventLoop))
            }
        }
        switch address {
        case .unixDomainSocket(let path):
            let listener = try UnixListener(path: path)
            let group = self.group
            listener.start { socket, credentials in
                // The accepted socket becomes a channel like any other (SwiftNIO owns it from here).
                ClientBootstrap(group: group)
                    .channelInitializer { initialize($0, credentials: credentials) }
                    .withConnectedSocket(socket)
                    .whenFailure { _ in close(socket) }
            }
            return .unix(listener)
        case .tcp(let host, let port):
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { initialize($0, credentials: nil) }
                .bind(host: host, port: port).get()
            return .channel(channel)
        }
    }

    private func track(_ channel: any Channel, _ streams: NIOLoopBound<ServerStreamsHandler>) {
        let key = ObjectIdentifier(channel)
        let draining = state.withLock { state -> Bool in
            state.connections[key] = (channel, streams)
            return state.shuttingDown
        }
        // Not from inside the channel's initializer: the channel is not registered yet.
        if draining { channel.eventLoop.execute { streams.value.beginShutdown() } }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { _ = $0.connections.removeValue(forKey: key) }
            finishIfDone()
        }
    }

    /// Stops accepting connections and streams; open streams finish, then connections close and
    /// `listen` returns.
    public func beginGracefulShutdown() {
        let (listener, connections) = state.withLock { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        for connection in connections {
            connection.channel.eventLoop.execute { connection.streams.value.beginShutdown() }
        }
        switch listener {
        case .channel(let channel)?: channel.close().whenComplete { [self] _ in finishIfDone() }
        case .unix(let listener)?:
            listener.stop()
            finishIfDone()
        case nil: break
        }
    }

    private func finishIfDone() {
        let acceptor = state.withLock { state -> AsyncStream<AcceptedStream>.Continuation? in
            guard state.shuttingDown, state.connections.isEmpty, state.listener.map({ !$0.isActive }) ?? true else { return nil }
            return state.acceptor
        }
        acceptor?.finish()
    }

    private func closeEverything() {
        let (listener, connections, acceptor) = state.withLock { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values), state.acceptor)
        }
        switch listener {
        case .channel(let channel)?: channel.close(promise: nil)
        case .unix(let listener)?: listener.stop()
        case nil: break
        }
        for connection in connections { connection.channel.close(promise: nil) }
        acceptor?.finish()
    }
}
