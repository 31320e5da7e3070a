public import NSMAPI

/// What request-path elements need from a registry: network services by name and endpoints by
/// query (upstream's Find semantics, without watch).
public protocol RegistryReader: Sendable {
    func networkService(named name: String) async throws -> Registry_NetworkService?
    func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint]
}
