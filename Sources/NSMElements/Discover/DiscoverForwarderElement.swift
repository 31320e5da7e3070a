public import NSMAPI
public import NSMCore

/// On the manager: picks a forwarder registered on this node for the request — the one named
/// in the path's next segment when it is still there (a refresh), otherwise the first whose
/// labels satisfy the NetworkService's `matches[].metadata.labels` (default `p2p=true`) — and
/// tries the others in turn when the rest of the chain fails. The chosen forwarder's URL is the
/// next hop, for Request and for Close.
public struct DiscoverForwarderElement: NetworkServiceElement {
    public enum Chosen: MetadataKey { public typealias Value = Registry_NetworkServiceEndpoint }

    let forwarders: LocalForwarders
    let services: any RegistryReader

    public init(forwarders: LocalForwarders, services: any RegistryReader) {
        self.forwarders = forwarders
        self.services = services
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let all = try await forwarders.list()
        let service = try? await services.networkService(named: request.connection.networkService)
        var candidates = EndpointSelector.selectForwarders(
            service: service, labels: request.connection.labels, forwarders: all, forwarderService: forwarders.serviceName)
        if let previous = request.connection.nextPathSegment?.name, let index = candidates.firstIndex(where: { $0.name == previous }) {
            candidates.insert(candidates.remove(at: index), at: 0)
        }
        guard !candidates.isEmpty else {
            throw NSMError.unavailable("no forwarder on this node matches (\(all.count) registered); is the forwarder running?")
        }
        var failures: [String] = []
        for forwarder in candidates {
            var context = context
            do {
                context.nextHop = try NSMURL(forwarder.url)
                let connection = try await next.request(request, context: context)
                context.metadata[Chosen.self] = forwarder
                return connection
            } catch {
                guard error.isWorthRetryingElsewhere else { throw error }
                failures.append("\(forwarder.name): \(error)")
            }
        }
        throw NSMError.unavailable("every forwarder failed: " + failures.joined(separator: "; "))
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var context = context
        if let chosen = context.metadata[Chosen.self] { context.nextHop = try? NSMURL(chosen.url) }
        try await next.close(connection, context: context)
    }
}
