public import NSMAPI
public import NSMCore

/// An endpoint registers through the manager of its own node: the manager's endpoint registry
/// refuses registrations (and unregistrations) that come over the network, whoever signs them —
/// its TCP port is for other nodes' forwarders, and an endpoint elsewhere registering here would
/// be published under this node's URL. Local processes (the unix socket) and this process pass.
public struct LocalRegistrantElement: RegistryElement {
    public typealias Resource = Registry_NetworkServiceEndpoint

    public init() {}

    public func register(_ resource: Resource, next: RegistryNext<Resource>) async throws -> Resource {
        try check(resource, doing: "register")
        return try await next.register(resource)
    }

    public func unregister(_ resource: Resource, next: RegistryNext<Resource>) async throws {
        try check(resource, doing: "unregister")
        try await next.unregister(resource)
    }

    func check(_ resource: Resource, doing verb: String) throws {
        guard case .remote(let address) = Caller.current.transport else { return }
        throw NSMError.permissionDenied(
            "endpoint \(resource.name.prefix(80)): an endpoint may only \(verb) through the manager of its own node (its unix socket); this call came over the network from \(address)")
    }
}
