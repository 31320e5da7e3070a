public import NSMAPI
public import NSMCore

/// On the manager: records each local registrant's real URL, publishes the endpoint upstream
/// under the manager's public URL, and turns the manager's URL back into the local one in
/// answers — so the node's forwarder dials local endpoints directly (upstream "localbypass").
public struct LocalBypassElement: RegistryElement {
    let bypass: LocalBypass
    let publicURL: String

    public init(bypass: LocalBypass, publicURL: String) {
        self.bypass = bypass
        self.publicURL = publicURL
    }

    public func register(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> Registry_NetworkServiceEndpoint {
        guard !resource.url.isEmpty, (try? NSMURL(resource.url)) != nil else {
            throw NSMError.invalidArgument("endpoint \"\(resource.name)\" url \"\(resource.url)\" is not unix:///path or tcp://host:port")
        }
        var published = resource
        published.url = publicURL
        // Record first: the registry's watchers hear of the registration before it returns,
        // and what they relay must already be rewritten to the local URL.
        let previous = bypass.localURL(for: resource.name)
        bypass.record(name: resource.name, url: resource.url)
        do {
            var answer = try await next.register(published)
            answer.url = resource.url
            return answer
        } catch {
            if let previous { bypass.record(name: resource.name, url: previous) } else { bypass.remove(name: resource.name) }
            throw error
        }
    }

    public func find(_ query: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws -> [Registry_NetworkServiceEndpoint] {
        try await next.find(query).map { bypass.rewrite($0, publicURL: publicURL) }
    }

    public func unregister(_ resource: Registry_NetworkServiceEndpoint, next: RegistryNext<Registry_NetworkServiceEndpoint>) async throws {
        bypass.remove(name: resource.name)
        var published = resource
        published.url = publicURL
        try await next.unregister(published)
    }
}
