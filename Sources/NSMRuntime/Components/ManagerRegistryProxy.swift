import GRPCCore
public import NSMElements
import ServiceLifecycle
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// The tail of a proxying registry chain: the next registry, over gRPC.
public struct UpstreamEndpointRegistryElement: RegistryElement {
    let upstream: RegistryClient

    public init(upstream: RegistryClient) { self.upstream = upstream }

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        try await next.register(try await upstream.register(resource))
    }

    public func find(_ query: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> [Registry_NetworkServiceEndpoint] {
        try await upstream.findEndpoints(query)
    }

    public func unregister(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws {
        try await upstream.unregister(resource)
        try await next.unregister(resource)
    }
}

/// The tail of a proxying network-service registry chain: the next registry, over gRPC.
public struct UpstreamServiceRegistryElement: RegistryElement {
    let upstream: RegistryClient

    public init(upstream: RegistryClient) { self.upstream = upstream }

    public func register(_ resource: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws -> Registry_NetworkService {
        try await next.register(try await upstream.register(resource))
    }

    public func find(_ query: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws -> [Registry_NetworkService] {
        try await upstream.findServices(query)
    }

    public func unregister(_ resource: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws {
        try await upstream.unregister(resource)
        try await next.unregister(resource)
    }
}


extension NetworkServiceEndpointRegistryGRPCService {
    /// The manager's endpoint registry: local bypass in front of the next registry; relayed
    /// watches see local endpoints at their local URLs, and end at graceful shutdown (so the
    /// server can stop).
    public init(proxyingTo registry: RegistryClient, bypass: LocalBypass, publicURL: String) {
        self.init(chain: RegistryChain([
            LocalRegistrantElement(), EndpointOwnerElement(), LocalBypassElement(bypass: bypass, publicURL: publicURL),
            UpstreamEndpointRegistryElement(upstream: registry),
        ]), identity: registry.pool.identity) {
            query, writer in
            try? await cancelWhenGracefulShutdown {
                try await registry.watchEndpoints(query) { response in
                    var response = response
                    response.networkServiceEndpoint = bypass.rewrite(response.networkServiceEndpoint, publicURL: publicURL)
                    try await writer.write(response)
                }
            }
        }
    }
}

extension NetworkServiceRegistryGRPCService {
    /// The manager's service registry: the next registry's, watches relayed.
    public init(proxyingTo registry: RegistryClient) {
        self.init(chain: RegistryChain([UpstreamServiceRegistryElement(upstream: registry)]), identity: registry.pool.identity) { query, writer in
            try? await cancelWhenGracefulShutdown { try await registry.watchServices(query) { try await writer.write($0) } }
        }
    }
}
