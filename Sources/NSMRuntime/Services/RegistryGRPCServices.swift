import ServiceLifecycle
import GRPCCore
public import NSMAPI
public import NSMCore
public import NSMRegistry
import SwiftProtobuf

/// Serves `/registry.NetworkServiceRegistry/*` from a storage.
public struct NetworkServiceRegistryGRPCService: Registry_NetworkServiceRegistry.SimpleServiceProtocol {
    let storage: any RegistryStorage

    public init(storage: any RegistryStorage) { self.storage = storage }

    public func register(request: Registry_NetworkService, context: ServerContext) async throws -> Registry_NetworkService {
        do { return try storage.register(request) } catch { throw error.rpcError }
    }

    public func find(request: Registry_NetworkServiceQuery, response: RPCWriter<Registry_NetworkServiceResponse>, context: ServerContext) async throws {
        if request.watch {
            for await item in storage.watchServices(request.networkService).cancelOnGracefulShutdown() { try await response.write(item) }
        } else {
            for service in storage.findServices(request.networkService) { try await response.write(.with { $0.networkService = service }) }
        }
    }

    public func unregister(request: Registry_NetworkService, context: ServerContext) async throws -> Google_Protobuf_Empty {
        do { try storage.unregister(request) } catch { throw error.rpcError }
        return Google_Protobuf_Empty()
    }
}

/// Serves `/registry.NetworkServiceEndpointRegistry/*` from a storage.
public struct NetworkServiceEndpointRegistryGRPCService: Registry_NetworkServiceEndpointRegistry.SimpleServiceProtocol {
    let storage: any RegistryStorage

    public init(storage: any RegistryStorage) { self.storage = storage }

    public func register(request: Registry_NetworkServiceEndpoint, context: ServerContext) async throws -> Registry_NetworkServiceEndpoint {
        do { return try storage.register(request) } catch { throw error.rpcError }
    }

    public func find(
        request: Registry_NetworkServiceEndpointQuery, response: RPCWriter<Registry_NetworkServiceEndpointResponse>, context: ServerContext
    ) async throws {
        if request.watch {
            for await item in storage.watchEndpoints(request.networkServiceEndpoint).cancelOnGracefulShutdown() { try await response.write(item) }
        } else {
            for endpoint in storage.findEndpoints(request.networkServiceEndpoint) {
                try await response.write(.with { $0.networkServiceEndpoint = endpoint })
            }
        }
    }

    public func unregister(request: Registry_NetworkServiceEndpoint, context: ServerContext) async throws -> Google_Protobuf_Empty {
        do { try storage.unregister(request) } catch { throw error.rpcError }
        return Google_Protobuf_Empty()
    }
}
