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

/// Refuses endpoint registrations without a usable name or URL, or larger than an entry may be,
/// before they reach storage.
public struct ValidateEndpointElement: RegistryElement {
    /// Bounds on one registration: an entry is kept in memory, sent to every watcher, and with the
    /// Kubernetes store becomes an object named after it (a DNS subdomain: at most 253 characters).
    public static let maximumNameBytes = MessageBounds.nameBytes
    public static let maximumURLBytes = MessageBounds.urlBytes
    public static let maximumLabelsPerService = MessageBounds.labels
    public static let maximumLabelBytes = MessageBounds.labelBytes

    public init() {}

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        guard resource.name.utf8.count <= Self.maximumNameBytes else {
            throw NSMError.invalidArgument("network service endpoint name of \(resource.name.utf8.count) bytes (\"\(resource.name.prefix(40))…\"); at most \(Self.maximumNameBytes) are accepted")
        }
        guard resource.url.utf8.count <= Self.maximumURLBytes else {
            throw NSMError.invalidArgument("network service endpoint \"\(resource.name)\" has a url of \(resource.url.utf8.count) bytes; at most \(Self.maximumURLBytes) are accepted")
        }
        for (service, labels) in resource.networkServiceLabels {
            guard labels.labels.count <= Self.maximumLabelsPerService else {
                throw NSMError.invalidArgument("network service endpoint \"\(resource.name)\" has \(labels.labels.count) labels for \"\(service.prefix(80))\"; at most \(Self.maximumLabelsPerService) per service are accepted")
            }
            for (key, value) in labels.labels where key.utf8.count > Self.maximumLabelBytes || value.utf8.count > Self.maximumLabelBytes {
                throw NSMError.invalidArgument("network service endpoint \"\(resource.name)\": label \"\(key.prefix(40))\" of \"\(service.prefix(80))\" is longer than \(Self.maximumLabelBytes) bytes (key or value)")
            }
        }
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
