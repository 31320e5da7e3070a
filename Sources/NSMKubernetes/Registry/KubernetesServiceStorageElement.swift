public import NSMAPI
public import NSMCore
import NSMRegistry

/// The tail of a registry server's network-service chain on the Kubernetes store.
public struct KubernetesServiceStorageElement: RegistryElement {
    let registry: KubernetesRegistry

    public init(registry: KubernetesRegistry) { self.registry = registry }

    public func register(_ resource: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws -> Registry_NetworkService {
        try await next.register(try await registry.register(resource))
    }

    public func find(_ query: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws -> [Registry_NetworkService] {
        registry.view.findServices(query)
    }

    public func unregister(_ resource: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws {
        try await registry.unregister(resource)
        try await next.unregister(resource)
    }
}
