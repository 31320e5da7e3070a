import Foundation
public import NSMAPI
public import NSMCore
import SwiftProtobuf
import Synchronization

/// Only the caller that registered an endpoint name may register it again or unregister it
/// (upstream's registry policy: the first registrant owns the name), the caller as the transport
/// established it (``Caller/current``: its SPIFFE ID with TLS). At the manager the caller is the
/// endpoint itself; at the registry, the manager that relays for it — so one node cannot take over
/// another node's endpoint. A name is free again once unregistered or once its registration expired.
/// Calls from this process pass.
public struct EndpointOwnerElement: RegistryElement {
    public typealias Resource = Registry_NetworkServiceEndpoint

    private let table: Table
    /// How long a registration without an expiration time holds its name.
    let defaultLifetime: TimeInterval

    final class Table: Sendable {
        let owners = Mutex<[String: (owner: String, until: Date)]>([:])
    }

    public init(defaultLifetime: TimeInterval = 60) {
        table = Table()
        self.defaultLifetime = defaultLifetime
    }

    public func register(_ resource: Resource, next: RegistryNext<Resource>) async throws -> Resource {
        guard let caller = Caller.current.identity else { return try await next.register(resource) }
        let now = Date()
        let owner = table.owners.withLock { owners in owners[resource.name].flatMap { $0.until > now ? $0.owner : nil } }
        if let owner, owner != caller { throw denied(resource.name, owner: owner, doing: "register") }
        let registered = try await next.register(resource)
        let until = registered.hasExpirationTime ? registered.expirationTime.date : now.addingTimeInterval(defaultLifetime)
        table.owners.withLock { $0[resource.name] = (caller, until) }
        return registered
    }

    public func unregister(_ resource: Resource, next: RegistryNext<Resource>) async throws {
        if let caller = Caller.current.identity {
            let now = Date()
            let owner = table.owners.withLock { owners in owners[resource.name].flatMap { $0.until > now ? $0.owner : nil } }
            if let owner, owner != caller { throw denied(resource.name, owner: owner, doing: "unregister") }
        }
        try await next.unregister(resource)
        table.owners.withLock { _ = $0.removeValue(forKey: resource.name) }
    }

    func denied(_ name: String, owner: String, doing verb: String) -> NSMError {
        .permissionDenied("endpoint \(name.prefix(80)) was registered by \(owner); only its registrant may \(verb) it, and this call comes from \(Caller.current)")
    }
}
