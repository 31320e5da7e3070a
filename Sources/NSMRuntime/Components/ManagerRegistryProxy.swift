import GRPCCore
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// The manager's endpoint registry for its node: records each local registrant's URL,
/// publishes it upstream with the manager's own public URL, and answers Finds with local
/// URLs for local endpoints (so the node's forwarder dials them directly).
public struct ManagerEndpointRegistryService: Registry_NetworkServiceEndpointRegistry.SimpleServiceProtocol {
    let upstream: RegistryClient
    let bypass: LocalBypass
    let publicURL: String

    public init(upstream: RegistryClient, bypass: LocalBypass, publicURL: String) {
        self.upstream = upstream
        self.bypass = bypass
        self.publicURL = publicURL
    }

    public func register(request: Registry_NetworkServiceEndpoint, context: ServerContext) async throws -> Registry_NetworkServiceEndpoint {
        guard !request.url.isEmpty, (try? NSMURL(request.url)) != nil else {
            throw RPCError(code: .invalidArgument, message: "endpoint \"\(request.name)\" url \"\(request.url)\" is not unix:///path or tcp://host:port")
        }
        var published = request
        published.url = publicURL
        var answer = try await upstream.register(published)
        bypass.record(name: answer.name, url: request.url)
        answer.url = request.url
        return answer
    }

    public func find(
        request: Registry_NetworkServiceEndpointQuery, response: RPCWriter<Registry_NetworkServiceEndpointResponse>, context: ServerContext
    ) async throws {
        for endpoint in try await upstream.findEndpoints(request.networkServiceEndpoint) {
            try await response.write(.with { $0.networkServiceEndpoint = bypass.rewrite(endpoint, publicURL: publicURL) })
        }
    }

    public func unregister(request: Registry_NetworkServiceEndpoint, context: ServerContext) async throws -> Google_Protobuf_Empty {
        bypass.remove(name: request.name)
        var published = request
        published.url = publicURL
        try await upstream.unregister(published)
        return Google_Protobuf_Empty()
    }
}

/// The manager passes network-service registry calls straight to the registry.
public struct ManagerServiceRegistryService: Registry_NetworkServiceRegistry.SimpleServiceProtocol {
    let upstream: RegistryClient

    public init(upstream: RegistryClient) { self.upstream = upstream }

    public func register(request: Registry_NetworkService, context: ServerContext) async throws -> Registry_NetworkService {
        try await upstream.register(request)
    }

    public func find(request: Registry_NetworkServiceQuery, response: RPCWriter<Registry_NetworkServiceResponse>, context: ServerContext) async throws {
        for service in try await upstream.findServices(request.networkService) {
            try await response.write(.with { $0.networkService = service })
        }
    }

    public func unregister(request: Registry_NetworkService, context: ServerContext) async throws -> Google_Protobuf_Empty {
        try await upstream.unregister(request)
        return Google_Protobuf_Empty()
    }
}

/// The manager's view of the registry for its own chain: local endpoints and forwarders with
/// their local URLs.
struct BypassingRegistryReader: RegistryReader {
    let upstream: RegistryClient
    let bypass: LocalBypass
    let publicURL: String

    func networkService(named name: String) async throws -> Registry_NetworkService? {
        try await upstream.networkService(named: name)
    }

    func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        try await upstream.findEndpoints(query).map { bypass.rewrite($0, publicURL: publicURL) }
    }
}
