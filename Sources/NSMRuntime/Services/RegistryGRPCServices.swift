import GRPCCore
public import NSMAPI
public import NSMCore
import NSMElements
public import NSMRegistry
import ServiceLifecycle
import SwiftProtobuf

/// Serves `/registry.NetworkServiceRegistry/*` with a registry chain; watching Finds are served
/// by `watch` (a storage's watch, or a relay of the next registry's).
public struct NetworkServiceRegistryGRPCService: Registry_NetworkServiceRegistry.SimpleServiceProtocol {
    public typealias Watch = @Sendable (Registry_NetworkService, RPCWriter<Registry_NetworkServiceResponse>) async throws -> Void
    let chain: RegistryChain<Registry_NetworkService>
    let watch: Watch

    public init(chain: RegistryChain<Registry_NetworkService>, watch: @escaping Watch) {
        self.chain = chain
        self.watch = watch
    }

    /// A registry server over a storage.
    public init(storage: any RegistryStorage) {
        self.init(chain: RegistryChain([ServiceStorageElement(storage: storage)])) { query, writer in
            for await item in storage.watchServices(query).cancelOnGracefulShutdown() { try await writer.write(item) }
        }
    }

    public func register(request: Registry_NetworkService, context: ServerContext) async throws -> Registry_NetworkService {
        do { return try await chain.register(request) } catch { throw error.asRPCError }
    }

    public func find(request: Registry_NetworkServiceQuery, response: RPCWriter<Registry_NetworkServiceResponse>, context: ServerContext) async throws {
        do {
            if request.watch { return try await watch(request.networkService, response) }
            for service in try await chain.find(request.networkService) { try await response.write(.with { $0.networkService = service }) }
        } catch { throw error.asRPCError }
    }

    public func unregister(request: Registry_NetworkService, context: ServerContext) async throws -> Google_Protobuf_Empty {
        do { try await chain.unregister(request) } catch { throw error.asRPCError }
        return Google_Protobuf_Empty()
    }
}

/// Serves `/registry.NetworkServiceEndpointRegistry/*` with a registry chain; watching Finds are
/// served by `watch`.
public struct NetworkServiceEndpointRegistryGRPCService: Registry_NetworkServiceEndpointRegistry.SimpleServiceProtocol {
    public typealias Watch = @Sendable (Registry_NetworkServiceEndpoint, RPCWriter<Registry_NetworkServiceEndpointResponse>) async throws -> Void
    let chain: RegistryChain<Registry_NetworkServiceEndpoint>
    let watch: Watch

    public init(chain: RegistryChain<Registry_NetworkServiceEndpoint>, watch: @escaping Watch) {
        self.chain = chain
        self.watch = watch
    }

    /// A registry server over a storage: validation, the registrant's address (unless
    /// `checksRegistrantAddress` is off: managers behind source NAT), ownership, then the storage.
    public init(storage: any RegistryStorage, checksRegistrantAddress: Bool = true) {
        let address: [any RegistryElement<Registry_NetworkServiceEndpoint>] = checksRegistrantAddress ? [RegistrantAddressElement()] : []
        self.init(chain: RegistryChain([ValidateEndpointElement()] + address + [EndpointOwnerElement(), EndpointStorageElement(storage: storage)])) { query, writer in
            for await item in storage.watchEndpoints(query).cancelOnGracefulShutdown() { try await writer.write(item) }
        }
    }

    public func register(request: Registry_NetworkServiceEndpoint, context: ServerContext) async throws -> Registry_NetworkServiceEndpoint {
        do {
            return try await Caller.$current.withValue(.ofCurrentCall(peer: context.remotePeer)) { try await chain.register(request) }
        } catch { throw error.asRPCError }
    }

    public func find(
        request: Registry_NetworkServiceEndpointQuery, response: RPCWriter<Registry_NetworkServiceEndpointResponse>, context: ServerContext
    ) async throws {
        do {
            if request.watch { return try await watch(request.networkServiceEndpoint, response) }
            for endpoint in try await chain.find(request.networkServiceEndpoint) {
                try await response.write(.with { $0.networkServiceEndpoint = endpoint })
            }
        } catch { throw error.asRPCError }
    }

    public func unregister(request: Registry_NetworkServiceEndpoint, context: ServerContext) async throws -> Google_Protobuf_Empty {
        do {
            try await Caller.$current.withValue(.ofCurrentCall(peer: context.remotePeer)) { try await chain.unregister(request) }
        } catch { throw error.asRPCError }
        return Google_Protobuf_Empty()
    }
}
