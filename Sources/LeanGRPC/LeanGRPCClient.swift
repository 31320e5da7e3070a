#if canImport(Glibc)
import Glibc
#endif
import GRPCCore
public import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
public import SwiftProtobuf
import Synchronization

/// Unary and server-streaming gRPC calls to one server over one HTTP/2 connection, opened on
/// first use and again after it closed (or the server sent GOAWAY).
///
/// The request path's hops are unary (`NetworkService/Request`, `/Close`), and a general gRPC
/// client pays for features they never use: a channel, a pipeline and async sequences per call,
/// a task group per deadline, retry and load-balancing state machines. Here a call is two
/// frames out and a promise completed by the frames back (``ClientStreamsHandler``); on the wire
/// it is the same gRPC over HTTP/2 (any gRPC server answers it). A client's monitor stream runs
/// on the same connection as its Requests: one connection (one TLS handshake) per peer.
public final class LeanGRPCClient: Sendable {
    struct Connection {
        let channel: any Channel
        let streams: NIOLoopBound<ClientStreamsHandler>
        let health: ConnectionHealth
        /// What ``TransportSecurity/identify`` said of the server, with TLS.
        let peerIdentity: String?
        /// ``TransportSecurity/generation`` when the connection was made.
        let generation: Int
        /// The server process's credentials, for a unix socket.
        let serverCredentials: UnixPeerCredentials?
    }

    private enum State {
        case idle
        case connecting(EventLoopFuture<Connection>)
        case ready(Connection)
        case shutDown
    }

    public let target: GRPCAddress
    public let maximumResponseBytes: Int
    /// A file each connection to a unix socket passes with its first byte (`SCM_RIGHTS`, as
    /// upstream's grpcfd): a network namespace this client speaks for. Opened per connection.
    public let passingFile: String?
    /// TLS under HTTP/2, or `nil` for plaintext; the server is identified before the first call.
    public let security: TransportSecurity?
    let eventLoop: any EventLoop
    private let state = Mutex(State.idle)

    public init(
        target: GRPCAddress, eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(), maximumResponseBytes: Int = 4 << 20,
        passingFile: String? = nil, security: TransportSecurity? = nil
    ) {
        self.security = security
        self.target = target
        self.eventLoop = eventLoop
        self.maximumResponseBytes = maximumResponseBytes
        self.passingFile = passingFile
    }

    /// Calls `path` (`/package.Service/Method`) with `request`; throws `RPCError` with the
    /// server's status, `.unavailable` when the server cannot be reached, `.deadlineExceeded`
    /// after `timeout`. `metadata` goes with the request's headers.
    public func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String, _ request: Request, as: Response.Type = Response.self, timeout: Duration?, metadata: CallMetadata = []
    ) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try request.serializedBytes() } catch {
            throw RPCError(code: .internalError, message: "cannot serialize \(Request.protoMessageName): \(error)")
        }
        let body = try await send(path, GRPCFraming.lengthPrefixed(bytes, allocator: .init()), timeout: timeout, metadata: metadata)
        do {
            return try body.withUnsafeReadableBytes { try Response(serializedBytes: Array($0)) }
        } catch {
            throw RPCError(code: .internalError, message: "cannot parse the response as \(Response.protoMessageName): \(error)")
        }
    }

    /// Sends a framed request and returns the response message's bytes. A call the server did
    /// not process (the connection was closing: GOAWAY, refused stream) goes once more on a new
    /// connection, as gRPC allows for calls that never reached the application.
    func send(_ path: String, _ message: ByteBuffer, timeout: Duration?, metadata: CallMetadata = []) async throws -> ByteBuffer {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        do {
            return try await attempt(path, message, timeout: timeout, metadata: metadata)
        } catch is UnprocessedCall {
            do {
                return try await attempt(path, message, timeout: deadline.map { max(.zero, $0 - ContinuousClock.now) }, metadata: metadata)
            } catch let again as UnprocessedCall {
                throw RPCError(code: .unavailable, message: again.reason)
            }
        }
    }

    private func attempt(_ path: String, _ message: ByteBuffer, timeout: Duration?, metadata: CallMetadata) async throws -> ByteBuffer {
        let connection = try await connection()
        let promise = connection.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let authority = target.authority
        if connection.channel.eventLoop.inEventLoop {
            connection.streams.value.start(path: path, authority: authority, metadata: metadata, message: message, timeout: timeout, promise: promise)
        } else {
            connection.channel.eventLoop.execute {
                connection.streams.value.start(path: path, authority: authority, metadata: metadata, message: message, timeout: timeout, promise: promise)
            }
        }
        let future = promise.futureResult
        return try await withTaskCancellationHandler {
            try await future.get()
        } onCancel: {
            connection.channel.eventLoop.execute { connection.streams.value.cancel(future) }
        }
    }

    private enum Lookup {
        case ready(Connection)
        case pending(EventLoopFuture<Connection>)
    }

    /// The open connection, or a new one (a connection that took GOAWAY or closed is replaced).
    func connection() async throws -> Connection {
        let lookup: Lookup = try state.withLock { state in
            switch state {
            case .ready(let connection) where connection.channel.isActive && connection.health.isUsable
                && connection.generation == (security?.generation() ?? 0):
                return .ready(connection)
            case .connecting(let future):
                return .pending(future)
            case .shutDown:
                throw RPCError(code: .unavailable, message: "client for \(target) is shut down")
            case .ready(let old):
                // The old connection closes itself once its calls are done (see ClientStreamsHandler);
                // one replaced while still usable (its credentials rotated) is told to.
                old.channel.eventLoop.execute { old.streams.value.retire("replaced by a connection with rotated credentials") }
                let future = connect()
                state = .connecting(future)
                return .pending(future)
            case .idle:
                let future = connect()
                state = .connecting(future)
                return .pending(future)
            }
        }
        switch lookup {
        case .ready(let connection):
            return connection
        case .pending(let pending):
            do {
                let connection = try await pending.get()
                state.withLock { state in
                    if case .connecting(let future) = state, future === pending { state = .ready(connection) }
                }
                return connection
            } catch {
                state.withLock { state in
                    if case .connecting(let future) = state, future === pending { state = .idle }
                }
                if let refused = error as? RPCError, refused.code == .unauthenticated { throw refused }
                throw RPCError(code: .unavailable, message: "cannot connect to \(target): \(error)")
            }
        }
    }

    private func connect() -> EventLoopFuture<Connection> {
        let maximumResponseBytes = self.maximumResponseBytes
        let security = self.security
        let eventLoop = self.eventLoop
        let handshake = security.map { _ in eventLoop.makePromise(of: Void.self) }
        let generation = security?.generation() ?? 0
        func bootstrap(passing: (socket: Int32, file: PassedFile)? = nil) -> ClientBootstrap {
            ClientBootstrap(group: eventLoop)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let settings: HTTP2Settings = [
                            HTTP2Setting(parameter: .enablePush, value: 0),
                            HTTP2Setting(parameter: .initialWindowSize, value: InboundConnectionWindow.size),
                            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 10),
                        ]
                        if let passing { try channel.pipeline.syncOperations.addHandler(FilePassingHandler(socket: passing.socket, file: passing.file)) }
                        if let security, let handshake {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: try security.context(), serverHostname: nil))
                            try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                        }
                        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, initialSettings: settings))
                        try channel.pipeline.syncOperations.addHandler(ClientStreamsHandler(maximumResponseBytes: maximumResponseBytes))
                    }
                }
        }
        let connected: EventLoopFuture<any Channel>
        var serverCredentials: UnixPeerCredentials?
        switch target {
        case .unixDomainSocket(let path):
            // Connected here, so the server's credentials can be read before SwiftNIO owns the socket.
            do {
                let socket = try connectUnixSocket(to: path)
                serverCredentials = UnixPeerCredentials.of(socket: socket)
                if let file = passingFile {
                    let opened = open(file, O_RDONLY | O_CLOEXEC)
                    guard opened >= 0 else {
                        let failure = SocketFailure(operation: "open \(file) to pass it", errno: errno)
                        close(socket)
                        throw failure
                    }
                    let passed = PassedFile(opened)
                    connected = bootstrap(passing: (socket, passed)).withConnectedSocket(socket)
                    connected.whenFailure { _ in passed.close() }
                } else {
                    connected = bootstrap().withConnectedSocket(socket)
                }
            } catch {
                connected = eventLoop.makeFailedFuture(error)
            }
        case .tcp(let host, let port):
            connected = bootstrap().connect(host: host, port: port)
        }
        let credentials = serverCredentials
        connected.whenFailure { error in handshake?.fail(error) }
        return connected.flatMap { channel in
            let ready = handshake?.futureResult ?? channel.eventLoop.makeSucceededVoidFuture()
            return ready.flatMapErrorThrowing { error in
                channel.close(promise: nil)
                throw error
            }.flatMapThrowing {
                let identity: String?
                do { identity = try security?.identifyPeer(of: channel.pipeline.syncOperations, server: false).identity } catch {
                    channel.close(promise: nil)
                    throw RPCError(code: .unauthenticated, message: "the server's certificate is not accepted: \(error)")
                }
                let streams = try channel.pipeline.syncOperations.handler(type: ClientStreamsHandler.self)
                return Connection(
                    channel: channel, streams: NIOLoopBound(streams, eventLoop: channel.eventLoop), health: streams.health, peerIdentity: identity,
                    generation: generation, serverCredentials: credentials)
            }
        }
    }

    /// The server's identity on the open connection (what ``TransportSecurity/identify`` said of
    /// its certificate), connecting first if needed; `nil` without TLS.
    public func serverIdentity() async throws -> String? {
        try await connection().peerIdentity
    }

    /// The server process's credentials on the open connection (a unix socket's `SO_PEERCRED`,
    /// with its network namespace), connecting first if needed; `nil` over TCP.
    public func serverCredentials() async throws -> UnixPeerCredentials? {
        try await connection().serverCredentials
    }

    /// Closes the connection; calls after this fail with `.unavailable`.
    public func shutDown() {
        let previous = state.withLock { state -> State in
            defer { state = .shutDown }
            return state
        }
        switch previous {
        case .ready(let connection): connection.channel.close(promise: nil)
        case .connecting(let future): future.whenSuccess { $0.channel.close(promise: nil) }
        case .idle, .shutDown: break
        }
    }
}
