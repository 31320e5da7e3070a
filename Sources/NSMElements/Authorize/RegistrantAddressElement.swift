import IPAddressing
public import NSMAPI
public import NSMCore

/// At the registry, an endpoint is published only under the address of the manager that
/// registers it: a registration over the network must carry a `tcp://` URL whose host is the
/// address the call came from. Managers publish their endpoints (and forwarders) under their own
/// URL, so theirs pass; a pod with a valid SVID calling the registry directly cannot publish an
/// endpoint that sends another node's — or anyone's — traffic to itself, and a manager cannot
/// publish under another node's address. Local callers (the unix socket) and this process pass.
public struct RegistrantAddressElement: RegistryElement {
    public typealias Resource = Registry_NetworkServiceEndpoint

    public init() {}

    public func register(_ resource: Resource, next: RegistryNext<Resource>) async throws -> Resource {
        guard let caller = Caller.current.remoteAddress else { return try await next.register(resource) }
        guard case .tcp(let host, _)? = try? NSMURL(resource.url), Self.same(host, caller) else {
            throw NSMError.permissionDenied(
                "endpoint \(resource.name.prefix(80)) would be published at \(resource.url.prefix(120)), but a registration over the network must name the registrant's own address (tcp://\(caller):<port>): endpoints register through the manager of their node, which publishes them under its URL (a registry that sees managers through source NAT runs with NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS=false)")
        }
        return try await next.register(resource)
    }

    /// Addresses compare by value however they are written; names as written (no lookups here).
    static func same(_ host: String, _ caller: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let a = IPAddress(bare), let b = IPAddress(caller) { return a == b }
        return bare == caller
    }
}
