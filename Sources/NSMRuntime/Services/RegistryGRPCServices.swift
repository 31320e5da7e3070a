public import GRPCCore
public import NSMAPI
public import NSMCore
import NSMElements
public import NSMRegistry
public import SPIFFE
import ServiceLifecycle
public import SwiftProtobuf

/// Serves `/registry.NetworkServiceRegistry/*` with a registry chain; watching Finds are served
/// by `watch` (a storage's watch, or a relay of the next registry's). Register and Unregister take
/// upstream's registry path (``RegistryPathCheck``): a registered service's `path_ids` are its
/// path's hops.
public struct NetworkServiceRegistryGRPCService: Registry_NetworkServiceRegistry.ServiceProtocol {
    public typealias Watch = @Sendable (Registry_NetworkService, RPCWriter<Registry_NetworkServiceResponse>) async throws -> Void
    let chain: RegistryChain<Registry_NetworkService>
    let watch: Watch
    let paths: RegistryPathCheck

    public init(chain: RegistryChain<Registry_NetworkService>, identity: (any X509Source)? = nil, watch: @escaping Watch) {
        self.chain = chain
        self.watch = watch
        paths = RegistryPathCheck(identity: identity)
    }

    /// A registry server over a storage.
    public init(storage: any RegistryStorage, identity: (any X509Source)? = nil) {
        self.init(chain: RegistryChain([ServiceStorageElement(storage: storage)]), identity: identity) { query, writer in
            for await item in storage.watchServices(query).cancelOnGracefulShutdown() { try await writer.write(item) }
        }
    }

    public func register(request: ServerRequest<Registry_NetworkService>, context: ServerContext) async throws -> ServerResponse<Registry_NetworkService> {
        do {
            let path = try paths.take(request.metadata, caller: .ofCurrentCall(peer: context.remotePeer))
            var service = request.message
            if let path { service.pathIds = path.subjects }
            return try await paths.serve(path) { try await chain.register(service) }
        } catch { throw error.asRPCError }
    }

    public func find(
        request: ServerRequest<Registry_NetworkServiceQuery>, context: ServerContext
    ) async throws -> StreamingServerResponse<Registry_NetworkServiceResponse> {
        registryFind(request.message.networkService, watching: request.message.watch, chain: chain, watch: watch) { service in
            .with { $0.networkService = service }
        }
    }

    public func unregister(request: ServerRequest<Registry_NetworkService>, context: ServerContext) async throws -> ServerResponse<Google_Protobuf_Empty> {
        do {
            let path = try paths.take(request.metadata, caller: .ofCurrentCall(peer: context.remotePeer))
            return try await paths.serve(path) {
                try await chain.unregister(request.message)
                return Google_Protobuf_Empty()
            }
        } catch { throw error.asRPCError }
    }
}

/// Serves `/registry.NetworkServiceEndpointRegistry/*` with a registry chain; watching Finds are
/// served by `watch`. The chain knows its caller (``Caller/current``); Register and Unregister
/// take upstream's registry path, and a registered endpoint's `path_ids` are its path's hops
/// (registrant, manager, registry).
public struct NetworkServiceEndpointRegistryGRPCService: Registry_NetworkServiceEndpointRegistry.ServiceProtocol {
    public typealias Watch = @Sendable (Registry_NetworkServiceEndpoint, RPCWriter<Registry_NetworkServiceEndpointResponse>) async throws -> Void
    let chain: RegistryChain<Registry_NetworkServiceEndpoint>
    let watch: Watch
    let paths: RegistryPathCheck

    public init(chain: RegistryChain<Registry_NetworkServiceEndpoint>, identity: (any X509Source)? = nil, watch: @escaping Watch) {
        self.chain = chain
        self.watch = watch
        paths = RegistryPathCheck(identity: identity)
    }

    /// A registry server over a storage: validation, the registrant's address (unless
    /// `checksRegistrantAddress` is off: managers behind source NAT), ownership, then the storage.
    public init(storage: any RegistryStorage, checksRegistrantAddress: Bool = true, identity: (any X509Source)? = nil) {
        let address: [any RegistryElement<Registry_NetworkServiceEndpoint>] = checksRegistrantAddress ? [RegistrantAddressElement()] : []
        let chain = RegistryChain([ValidateEndpointElement()] + address + [EndpointOwnerElement(), EndpointStorageElement(storage: storage)])
        self.init(chain: chain, identity: identity) { query, writer in
            for await item in storage.watchEndpoints(query).cancelOnGracefulShutdown() { try await writer.write(item) }
        }
    }

    public func register(
        request: ServerRequest<Registry_NetworkServiceEndpoint>, context: ServerContext
    ) async throws -> ServerResponse<Registry_NetworkServiceEndpoint> {
        do {
            let caller = Caller.ofCurrentCall(peer: context.remotePeer)
            let path = try paths.take(request.metadata, caller: caller)
            var endpoint = request.message
            if let path { endpoint.pathIds = path.subjects }
            return try await paths.serve(path) { try await Caller.$current.withValue(caller) { try await chain.register(endpoint) } }
        } catch { throw error.asRPCError }
    }

    public func find(
        request: ServerRequest<Registry_NetworkServiceEndpointQuery>, context: ServerContext
    ) async throws -> StreamingServerResponse<Registry_NetworkServiceEndpointResponse> {
        registryFind(request.message.networkServiceEndpoint, watching: request.message.watch, chain: chain, watch: watch) { endpoint in
            .with { $0.networkServiceEndpoint = endpoint }
        }
    }

    public func unregister(
        request: ServerRequest<Registry_NetworkServiceEndpoint>, context: ServerContext
    ) async throws -> ServerResponse<Google_Protobuf_Empty> {
        do {
            let caller = Caller.ofCurrentCall(peer: context.remotePeer)
            let path = try paths.take(request.metadata, caller: caller)
            return try await paths.serve(path) {
                try await Caller.$current.withValue(caller) { try await chain.unregister(request.message) }
                return Google_Protobuf_Empty()
            }
        } catch { throw error.asRPCError }
    }
}

/// A registry Find for both registries: a watching one relayed by `watch`, otherwise the chain's
/// matches, each wrapped as a response.
func registryFind<Resource: Sendable, Response: Sendable>(
    _ query: Resource, watching: Bool, chain: RegistryChain<Resource>,
    watch: @escaping @Sendable (Resource, RPCWriter<Response>) async throws -> Void, wrap: @escaping @Sendable (Resource) -> Response
) -> StreamingServerResponse<Response> {
    StreamingServerResponse { writer in
        do {
            if watching {
                try await watch(query, writer)
            } else {
                for item in try await chain.find(query) { try await writer.write(wrap(item)) }
            }
        } catch { throw error.asRPCError }
        return [:]
    }
}
