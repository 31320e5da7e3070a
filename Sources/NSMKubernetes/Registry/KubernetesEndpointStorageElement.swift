public import NSMAPI
public import NSMCore
import NSMRegistry

/// The tail of a registry server's endpoint chain on the Kubernetes store.
public struct KubernetesEndpointStorageElement: RegistryElement {
    let registry: KubernetesRegistry

    public init(registry: KubernetesRegistry) { self.registry = registry }

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        try await next.register(try await registry.register(resource))
    }

    public func find(_ query: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> [Registry_NetworkServiceEndpoint] {
        registry.view.findEndpoints(query)
    }

    public func unregister(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws {
        try await registry.unregister(resource)
        try await next.unregister(resource)
    }
}
