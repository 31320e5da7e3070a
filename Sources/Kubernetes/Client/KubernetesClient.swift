public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A Kubernetes API client over HTTP/1.1 and TLS (async-http-client): the verbs the mesh uses,
/// every failure turned into the server's own `Status` (``KubernetesError``), a client-side rate
/// limit, and watches as streams of events.
public final class KubernetesClient: Sendable {
    public let connection: KubernetesConnection
    let http: HTTPClient
    let limiter: RateLimiter
    let tokens: TokenSource
    /// Where requests go: the connection's server, or its `tls-server-name` in the host's place
    /// (the connection then goes to the real host, through the HTTP client's DNS override).
    let base: String
    /// Bodies larger than this are refused (a list of 10,000 endpoints is a few MB).
    static let maximumBodyBytes = 256 << 20

    /// - Parameters:
    ///   - queriesPerSecond: sustained calls per second (`NSM_KUBELET_QPS`); watches count once.
    ///   - burst: calls allowed at once before the rate applies.
    public init(connection: KubernetesConnection, queriesPerSecond: Double = 50, burst: Int = 100) throws {
        self.connection = connection
        var tls = TLSConfiguration.makeClientConfiguration()
        // Closing a connection waits this long for the server's close_notify (5 s by default): a
        // cancelled watch's connection must not hold up the client's shutdown that long.
        tls.shutdownTimeout = .seconds(1)
        switch connection.trust {
        case .certificateAuthorities(let pem):
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))) } catch {
                throw KubernetesConfigurationError("\(connection.source): the CA certificates cannot be read: \(error)")
            }
        case .insecure: tls.certificateVerification = .none
        case .system: break
        }
        if case .clientCertificate(let certificatePEM, let keyPEM) = connection.credentials {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            } catch {
                throw KubernetesConfigurationError("\(connection.source): the client certificate or key cannot be read: \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10))
        configuration.decompression = .disabled
        // A refused connection fails the request now (the informer has its own back-off), instead
        // of being retried inside the HTTP client until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        base = try Self.base(connection, override: &configuration.dnsOverride)
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        limiter = RateLimiter(perSecond: queriesPerSecond, burst: burst)
        tokens = TokenSource(connection.credentials)
    }

    /// With a `tls-server-name`, the server's certificate is checked against that name and the
    /// name is sent as SNI, as client-go does: requests name it as their host, and the HTTP
    /// client's DNS override sends them to the configured server.
    static func base(_ connection: KubernetesConnection, override: inout [String: String]) throws -> String {
        guard let name = connection.serverName, !name.isEmpty else { return connection.server }
        guard var components = URLComponents(string: connection.server), let host = components.host, !host.isEmpty else {
            throw KubernetesConfigurationError("\(connection.source): the server \(connection.server) is not a URL with a host")
        }
        let address = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        guard address != name else { return connection.server }
        guard !name.contains(":") else {
            throw KubernetesConfigurationError("\(connection.source): tls-server-name \(name) is not a DNS name; give the name the server's certificate carries")
        }
        components.host = name
        override[name] = address
        return components.string ?? connection.server
    }

    /// Closes the client's connections; call once it is no longer used.
    public func shutdown() async throws { try await http.shutdown() }

    /// A request to the API server: method, path, query, JSON body.
    func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String = "application/json"
    ) throws -> HTTPClientRequest {
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // '+' in a selector or a continue token must reach the server as itself.
        let encodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        var request = HTTPClientRequest(url: base + path + (encodedQuery.map { "?" + $0 } ?? ""))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "nsm (swift)")
        if let token = try tokens.token() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// Sends `request` (after the rate limit) and returns the body of a 2xx answer; anything
    /// else becomes a ``KubernetesError`` with the server's Status.
    func send(_ request: HTTPClientRequest, operation: String, timeout: Duration = .seconds(30)) async throws -> Data {
        try await limiter.acquire()
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
        } catch {
            throw KubernetesTransportError(operation: operation, server: connection.server, underlying: "\(error)")
        }
        let body = try await response.body.collect(upTo: Self.maximumBodyBytes)
        let data = Data(body.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            throw Self.failure(status: Int(response.status.code), headers: response.headers, body: data, operation: operation)
        }
        return data
    }

    /// The server's Status from a failed answer; one made from the HTTP status when the body is not a Status.
    static func failure(status code: Int, headers: HTTPHeaders, body: Data, operation: String) -> KubernetesError {
        var status = (try? JSONDecoder().decode(KubernetesStatus.self, from: body))
            .flatMap { $0.kind == "Status" || $0.reason != nil ? $0 : nil }
            ?? KubernetesStatus(message: String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                                reason: HTTPResponseStatus(statusCode: code).reasonPhrase, code: code)
        if status.code == nil { status.code = code }
        if let retry = headers.first(name: "Retry-After").flatMap(Int.init) {
            var details = status.details ?? .init()
            details.retryAfterSeconds = details.retryAfterSeconds ?? retry
            status.details = details
        }
        return KubernetesError(status: status, operation: operation)
    }
}

/// The API server could not be reached (or the connection broke) — no Status to show.
public struct KubernetesTransportError: Error, CustomStringConvertible {
    public var operation: String
    public var server: String
    public var underlying: String
    public var description: String { "\(operation): cannot reach the API server \(server): \(underlying)" }
}
