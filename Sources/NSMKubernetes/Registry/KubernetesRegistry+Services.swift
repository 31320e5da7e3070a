public import GRPCCore
import NSMAPI
import NSMCore
import NSMElements
import NSMRegistry
public import NSMRuntime
public import SPIFFE
import ServiceLifecycle

extension KubernetesRegistry {
    /// Both registries' gRPC services on this store: validation, the registrant's address (unless
    /// `checksRegistrantAddress` is off), ownership, then the custom resources; watches from the
    /// view the informers keep; with `identity`, upstream's registry path is checked and continued.
    public func grpcServices(checksRegistrantAddress: Bool = true, identity: (any X509Source)? = nil) -> [any RegistrableRPCService] {
        let view = self.view
        let address: [any RegistryElement<Registry_NetworkServiceEndpoint>] = checksRegistrantAddress ? [RegistrantAddressElement()] : []
        return [
            NetworkServiceRegistryGRPCService(chain: RegistryChain([KubernetesServiceStorageElement(registry: self)]), identity: identity) { query, writer in
                for await item in view.watchServices(query).cancelOnGracefulShutdown() { try await writer.write(item) }
            },
            NetworkServiceEndpointRegistryGRPCService(
                chain: RegistryChain([ValidateEndpointElement()] + address + [EndpointOwnerElement(), KubernetesEndpointStorageElement(registry: self)]),
                identity: identity
            ) { query, writer in
                for await item in view.watchEndpoints(query).cancelOnGracefulShutdown() { try await writer.write(item) }
            },
        ]
    }
}
