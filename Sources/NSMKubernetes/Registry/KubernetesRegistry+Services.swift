public import GRPCCore
import NSMAPI
import NSMCore
import NSMElements
import NSMRegistry
public import NSMRuntime
import ServiceLifecycle

extension KubernetesRegistry {
    /// Both registries' gRPC services on this store: validation, the registrant's address (unless
    /// `checksRegistrantAddress` is off), ownership, then the custom resources; watches from the
    /// view the informers keep.
    public func grpcServices(checksRegistrantAddress: Bool = true) -> [any RegistrableRPCService] {
        let view = self.view
        let address: [any RegistryElement<Registry_NetworkServiceEndpoint>] = checksRegistrantAddress ? [RegistrantAddressElement()] : []
        return [
            NetworkServiceRegistryGRPCService(chain: RegistryChain([KubernetesServiceStorageElement(registry: self)])) { query, writer in
                for await item in view.watchServices(query).cancelOnGracefulShutdown() { try await writer.write(item) }
            },
            NetworkServiceEndpointRegistryGRPCService(
                chain: RegistryChain([ValidateEndpointElement()] + address + [EndpointOwnerElement(), KubernetesEndpointStorageElement(registry: self)])
            ) { query, writer in
                for await item in view.watchEndpoints(query).cancelOnGracefulShutdown() { try await writer.write(item) }
            },
        ]
    }
}
