import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// A registry reached over gRPC: both registries' Register / Find / Unregister, and the
/// ``RegistryReader`` view the request path uses.
public struct RegistryClient: RegistryReader {
    public let url: NSMURL
    let pool: GRPCClientPool
    let timeout: Duration

    public init(url: NSMURL, pool: GRPCClientPool, timeout: Duration = .seconds(5)) {
        self.url = url
        self.pool = pool
        self.timeout = timeout
    }

    var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    var endpointsClient: Registry_NetworkServiceEndpointRegistry.Client<HTTP2ClientTransport.Posix> {
        get throws { Registry_NetworkServiceEndpointRegistry.Client(wrapping: try pool.peer(for: url).streamClient) }
    }

    var servicesClient: Registry_NetworkServiceRegistry.Client<HTTP2ClientTransport.Posix> {
        get throws { Registry_NetworkServiceRegistry.Client(wrapping: try pool.peer(for: url).streamClient) }
    }

    /// Upstream's credentials on every registry call, with an identity: `nsm-client-token` for
    /// the registry this client calls, and the registry path (``RegistryPath``) — this process's
    /// segment with that token, after the path of the call it is serving when it proxies one.
    func metadata() async throws -> Metadata {
        guard let (token, expires) = try await pool.peer(for: url).tokenForServer() else { return [:] }
        let own = RegistryPath.Segment(token: token)
        let path = RegistryPath.served.map { RegistryPath(index: $0.index, segments: Array($0.segments.prefix($0.index)) + [own]) }
            ?? RegistryPath(index: 0, segments: [own])
        var metadata: Metadata = [RegistryPath.metadataKey: .string(path.encoded)]
        for (name, value) in ClientTokenMetadata.headers(token: token, expires: expires) { metadata.addString(value, forKey: name) }
        return metadata
    }

    public func register(_ endpoint: Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint {
        try await endpointsClient.register(endpoint, metadata: try await metadata(), options: options)
    }

    public func unregister(_ endpoint: Registry_NetworkServiceEndpoint) async throws {
        _ = try await endpointsClient.unregister(endpoint, metadata: try await metadata(), options: options)
    }

    public func register(_ service: Registry_NetworkService) async throws -> Registry_NetworkService {
        try await servicesClient.register(service, metadata: try await metadata(), options: options)
    }

    public func unregister(_ service: Registry_NetworkService) async throws {
        _ = try await servicesClient.unregister(service, metadata: try await metadata(), options: options)
    }

    public func findEndpoints(_ query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        try await endpointsClient.find(.with { $0.networkServiceEndpoint = query }, metadata: try await metadata(), options: options) { response in
            var result: [Registry_NetworkServiceEndpoint] = []
            for try await message in response.messages where !message.deleted { result.append(message.networkServiceEndpoint) }
            return result
        }
    }

    public func findServices(_ query: Registry_NetworkService) async throws -> [Registry_NetworkService] {
        try await servicesClient.find(.with { $0.networkService = query }, metadata: try await metadata(), options: options) { response in
            var result: [Registry_NetworkService] = []
            for try await message in response.messages where !message.deleted { result.append(message.networkService) }
            return result
        }
    }

    /// Relays a watching Find of endpoints, transforming each response.
    public func watchEndpoints(
        _ query: Registry_NetworkServiceEndpoint, _ each: @escaping @Sendable (Registry_NetworkServiceEndpointResponse) async throws -> Void
    ) async throws {
        try await endpointsClient.find(.with { $0.networkServiceEndpoint = query; $0.watch = true }, metadata: try await metadata()) { response in
            for try await message in response.messages { try await each(message) }
        }
    }

    /// Follows `endpoint`'s own entry; returns when the stream ends or the entry is deleted (a
    /// ``RegistrationKeeper`` then registers it again).
    public func watchOwnEntry(_ endpoint: Registry_NetworkServiceEndpoint) async throws {
        try await endpointsClient.find(.with { $0.networkServiceEndpoint = .with { $0.name = endpoint.name }; $0.watch = true }, metadata: try await metadata()) { response in
            for try await message in response.messages where message.deleted && message.networkServiceEndpoint.name == endpoint.name { return }
        }
    }

    /// Relays a watching Find of network services.
    public func watchServices(
        _ query: Registry_NetworkService, _ each: @escaping @Sendable (Registry_NetworkServiceResponse) async throws -> Void
    ) async throws {
        try await servicesClient.find(.with { $0.networkService = query; $0.watch = true }, metadata: try await metadata()) { response in
            for try await message in response.messages { try await each(message) }
        }
    }

    public func networkService(named name: String) async throws -> Registry_NetworkService? {
        try await findServices(.with { $0.name = name }).first
    }

    public func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        try await findEndpoints(query)
    }
}
