public import NSMAPI
public import NSMCore

/// The tail of a registry server's endpoint chain: the storage.
public struct EndpointStorageElement: RegistryElement {
    let storage: any RegistryStorage

    public init(storage: any RegistryStorage) { self.storage = storage }

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        try await next.register(try storage.register(resource))
    }

    public func find(_ query: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> [Registry_NetworkServiceEndpoint] {
        storage.findEndpoints(query)
    }

    public func unregister(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws {
        try storage.unregister(resource)
        try await next.unregister(resource)
    }
}

/// The tail of a registry server's network-service chain: the storage.
public struct ServiceStorageElement: RegistryElement {
    let storage: any RegistryStorage

    public init(storage: any RegistryStorage) { self.storage = storage }

    public func register(_ resource: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws -> Registry_NetworkService {
        try await next.register(try storage.register(resource))
    }

    public func find(_ query: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws -> [Registry_NetworkService] {
        storage.findServices(query)
    }

    public func unregister(_ resource: Registry_NetworkService, next: RegistryNext<Registry_NetworkService>) async throws {
        try storage.unregister(resource)
        try await next.unregister(resource)
    }
}

/// Refuses endpoint registrations without a usable name or URL before they reach storage.
public struct ValidateEndpointElement: RegistryElement {
    public init() {}

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        guard !resource.url.isEmpty else {
            throw NSMError.invalidArgument("network service endpoint \"\(resource.name)\" has no url; expected unix:///path or tcp://host:port")
        }
        _ = try NSMURL(resource.url)
        for name in resource.networkServiceNames where name.isEmpty {
            throw NSMError.invalidArgument("network service endpoint \"\(resource.name)\" lists an empty network service name")
        }
        return try await next.register(resource)
    }
}
