import GRPCCore
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// On the manager: records each local registrant's real URL, publishes the endpoint upstream
/// under the manager's public URL, and turns the manager's URL back into the local one in
/// answers — so the node's forwarder dials local endpoints directly (upstream "localbypass").
public struct LocalBypassElement: RegistryElement {
    let bypass: LocalBypass
    let publicURL: String

    public init(bypass: LocalBypass, publicURL: String) {
        self.bypass = bypass
        self.publicURL = publicURL
    }

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        guard !resource.url.isEmpty, (try? NSMURL(resource.url)) != nil else {
            throw NSMError.invalidArgument("endpoint \"\(resource.name)\" url \"\(resource.url)\" is not unix:///path or tcp://host:port")
        }
        var published = resource
        published.url = publicURL
        // Record first: the registry's watchers hear of the registration before it returns,
        // and what they relay must already be rewritten to the local URL.
        let previous = bypass.localURL(for: resource.name)
        bypass.record(name: resource.name, url: resource.url)
        do {
            var answer = try await next.register(published)
            answer.url = resource.url
            return answer
        } catch {
            if let previous { bypass.record(name: resource.name, url: previous) } else { bypass.remove(name: resource.name) }
            throw error
        }
    }

    public func find(_ query: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> [Registry_NetworkServiceEndpoint] {
        try await next.find(query).map { bypass.rewrite($0, publicURL: publicURL) }
    }

    public func unregister(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws {
        bypass.remove(name: resource.name)
        var published = resource
        published.url = publicURL
        try await next.unregister(published)
    }
}

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

/// The manager's view of the registry for its own chain: local endpoints and forwarders with
/// their local URLs.
struct BypassingRegistryReader: RegistryReader {
    let upstream: any RegistryReader
    let bypass: LocalBypass
    let publicURL: String

    func networkService(named name: String) async throws -> Registry_NetworkService? {
        try await upstream.networkService(named: name)
    }

    func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        try await upstream.endpoints(matching: query).map { bypass.rewrite($0, publicURL: publicURL) }
    }
}
