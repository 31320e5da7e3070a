import GRPCCore
public import GRPCNIOTransportHTTP2Posix
import LeanGRPC
public import NSMAPI
public import NSMCore
import SwiftProtobuf
import SPIFFE
import SwiftASN1
import X509
import Synchronization

/// Everything this process holds for one gRPC peer URL: the lean client for the request path's
/// Request and Close and for monitor streams, grpc-swift's client for registry calls and watches
/// (made on first use; its connections run in ``GRPCClientPool/run()``), and whether the peer is
/// believed alive.
///
/// Each client keeps one connection; a pod's client, which only requests and monitors, opens one
/// (one TLS handshake). The lean client is several times cheaper per call (see docs/benchmarks.md).
public final class GRPCPeer: NetworkServicePeer {
    public typealias StreamClient = GRPCClient<HTTP2ClientTransport.Posix>

    static let requestPath = "/" + Networkservice_NetworkService.Method.Request.descriptor.fullyQualifiedMethod
    static let closePath = "/" + Networkservice_NetworkService.Method.Close.descriptor.fullyQualifiedMethod
    static let monitorPath = "/" + Connection_MonitorConnection.Method.MonitorConnections.descriptor.fullyQualifiedMethod

    public let url: NSMURL
    let unaryClient: LeanGRPCClient
    private let stream: Mutex<StreamClient?> = Mutex(nil)
    /// Hands a new stream client to the pool to run; false once the pool has shut down.
    private let run: @Sendable (StreamClient) -> Bool
    /// Deadline of one Request or Close.
    let timeout: Duration
    /// Whether the peer answered a liveness probe and nothing since suggested it went away.
    private let alive = Mutex(false)
    /// This process's SPIFFE identity: mutual TLS, and the token this hop signs in its path segment.
    let identity: (any X509Source)?

    init(
        url: NSMURL, timeout: Duration = .seconds(15), passingNamespace: String? = nil, identity: (any X509Source)? = nil,
        run: @escaping @Sendable (StreamClient) -> Bool
    ) {
        self.url = url
        self.identity = identity
        self.timeout = timeout
        self.run = run
        unaryClient = LeanGRPCClient(target: url.grpcAddress, passingFile: passingNamespace, security: identity.map { .spiffe($0, server: false) })
    }

    /// grpc-swift's client for registry calls and watches, made (and handed to the pool to run)
    /// on first use.
    public var streamClient: StreamClient {
        get throws {
            try stream.withLock { stream in
                if let stream { return stream }
                var config = HTTP2ClientTransport.Posix.Config.defaults
                config.backoff.initial = .milliseconds(50)
                config.backoff.max = .milliseconds(500)
                config.connection.maxIdleTime = nil
                let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(
                    target: url.clientTarget, transportSecurity: try identity.map(Self.tls) ?? .plaintext, config: config))
                guard run(client) else { throw NSMError.unavailable("the client pool is shut down") }
                stream = client
                return client
            }
        }
    }

    /// Mutual TLS for the stream client: the bundle it has now as trust roots (verified without
    /// host names), and the SVID current at each handshake.
    static func tls(_ identity: any X509Source) throws -> HTTP2ClientTransport.Posix.TransportSecurity {
        let material = try identity.current()
        let roots: [TLSConfig.CertificateSource] = try material.bundle.authorities.map { .bytes(Array(try $0.serializeAsPEM().pemString.utf8), format: .pem) }
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
            certificateChain: try material.svid.chain.map { .bytes(Array(try $0.serializeAsPEM().pemString.utf8), format: .pem) },
            privateKey: .bytes(Array(try material.svid.privateKey.serializeAsPEM().pemString.utf8), format: .pem),
            serverCertificateVerification: .noHostnameVerification, trustRoots: .certificates(roots))
        tls.certificateReloader = SVIDReloader(source: identity)
        return .tls(tls)
    }

    /// The same peer with another deadline for Request and Close (state stays shared).
    func with(timeout: Duration) -> any NetworkServicePeer { timeout == self.timeout ? self : TimedPeer(peer: self, timeout: timeout) }

    public func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        try await self.request(request, timeout: timeout)
    }

    public func close(_ connection: Connection_Connection) async throws {
        try await close(connection, timeout: timeout)
    }

    func request(_ request: Networkservice_NetworkServiceRequest, timeout: Duration) async throws -> Connection_Connection {
        var request = request
        request.connection = try await signed(request.connection)
        return try await ChainTracing.outgoing("Request", connection: request.connection, peer: url.description) {
            try await unaryClient.call(Self.requestPath, request, as: Connection_Connection.self, timeout: timeout, metadata: metadata(for: request.connection))
        }
    }

    func close(_ connection: Connection_Connection, timeout: Duration) async throws {
        let connection = try await signed(connection)
        try await ChainTracing.outgoing("Close", connection: connection, peer: url.description) {
            _ = try await unaryClient.call(Self.closePath, connection, as: Google_Protobuf_Empty.self, timeout: timeout, metadata: metadata(for: connection))
        }
    }

    /// A call's metadata: upstream's token headers and, with tracing on, the trace context.
    private func metadata(for connection: Connection_Connection) -> CallMetadata {
        var metadata = ClientTokenMetadata.metadata(for: connection)
        TraceContextMetadata.inject(into: &metadata)
        return metadata
    }

    /// With an identity: this hop's segment gets a token for the server (`aud` its SPIFFE ID, as
    /// the TLS handshake showed it), expiring with the segment or the SVID, whichever is first;
    /// the call sends it as `nsm-client-token` metadata too, as upstream's clients do.
    func signed(_ connection: Connection_Connection) async throws -> Connection_Connection {
        guard let identity, let server = try await unaryClient.serverIdentity() else { return connection }
        return try connection.signingOwnSegment(with: try identity.current(), for: server)
    }

    /// On the lean client's connection, beside this process's Requests.
    public func monitorConnections(
        _ selector: Connection_MonitorScopeSelector, _ body: @escaping @Sendable (Connection_ConnectionEvent) async throws -> Void
    ) async throws {
        try await unaryClient.serverStream(Self.monitorPath, selector, as: Connection_ConnectionEvent.self, metadata: try await monitorMetadata(), body)
    }

    /// With an identity: a token for the server (no path segment to carry it), as upstream's
    /// clients send with every call.
    func monitorMetadata() async throws -> CallMetadata {
        guard let (token, expires) = try await tokenForServer() else { return [] }
        return ClientTokenMetadata.headers(token: token, expires: expires)
    }

    /// With an identity: a token for this peer's server (`aud` its SPIFFE ID, as the lean
    /// client's handshake showed it), expiring with this process's SVID.
    func tokenForServer() async throws -> (token: String, expires: Google_Protobuf_Timestamp)? {
        guard let identity, let server = try await unaryClient.serverIdentity() else { return nil }
        let material = try identity.current()
        let token = try PathToken(subject: material.svid.id.description, audience: [server], expires: material.svid.notAfter).signed(with: material.svid)
        return (token, Google_Protobuf_Timestamp(date: material.svid.notAfter))
    }

    public func suspect() { alive.withLock { $0 = false } }

    public func processNamespace() async throws -> NamespaceURL? {
        try await unaryClient.serverCredentials()?.networkNamespace.map { .inode(device: $0.device, inode: $0.inode) }
    }

    /// Throws `UNAVAILABLE` at once when a unix peer not known to be alive has no listener: a
    /// local endpoint or forwarder whose process is gone would otherwise make the call wait out
    /// its deadline. Known-alive peers skip the probe (each costs the server an accept).
    func checkAlive() throws {
        guard case .unix(let path) = url, !alive.withLock({ $0 }) else { return }
        if let problem = unixSocketProblem(at: path) {
            throw NSMError.unavailable("\(url) is not accepting connections (\(problem))")
        }
        alive.withLock { $0 = true }
    }

    func shutDown() {
        stream.withLock { $0 }?.beginGracefulShutdown()
        unaryClient.shutDown()
    }
}

/// A ``GRPCPeer`` whose Request and Close use another deadline.
struct TimedPeer: NetworkServicePeer {
    let peer: GRPCPeer
    let timeout: Duration

    var url: NSMURL { peer.url }
    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        try await peer.request(request, timeout: timeout)
    }
    func close(_ connection: Connection_Connection) async throws { try await peer.close(connection, timeout: timeout) }
    func monitorConnections(
        _ selector: Connection_MonitorScopeSelector, _ body: @escaping @Sendable (Connection_ConnectionEvent) async throws -> Void
    ) async throws {
        try await peer.monitorConnections(selector, body)
    }
    func suspect() { peer.suspect() }
    func processNamespace() async throws -> NamespaceURL? { try await peer.processNamespace() }
}
