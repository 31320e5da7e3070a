public import GRPCCore
import NSMCore
import NSMElements
import NSMRegistry
public import NSMRuntime
import ServiceLifecycle

extension KubernetesRegistry {
    /// Both registries' gRPC services on this store: validation, then the custom resources;
    /// watches from the view the informers keep.
    public var grpcServices: [any RegistrableRPCService] {
        let view = self.view
        return [
            NetworkServiceRegistryGRPCService(chain: RegistryChain([KubernetesServiceStorageElement(registry: self)])) { query, writer in
                for await item in view.watchServices(query).cancelOnGracefulShutdown() { try await writer.write(item) }
            },
            NetworkServiceEndpointRegistryGRPCService(
                chain: RegistryChain([ValidateEndpointElement(), RegistrantAddressElement(), EndpointOwnerElement(), KubernetesEndpointStorageElement(registry: self)])
            ) { query, writer in
                for await item in view.watchEndpoints(query).cancelOnGracefulShutdown() { try await writer.write(item) }
            },
        ]
    }
}
