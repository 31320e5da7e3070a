import Logging
public import NSMAPI
public import NSMCore
import Synchronization

/// Picks one of the discovered candidates, round robin per network service, sets
/// `network_service_endpoint_name` and the next hop (the endpoint's URL) and continues; when the
/// rest of the chain fails for that endpoint, tries the next candidate (each at most once).
/// Close goes to the endpoint the connection was made with.
public final class RoundRobinElement: NetworkServiceElement {
    public enum Chosen: MetadataKey { public typealias Value = Registry_NetworkServiceEndpoint }

    private let counters = Mutex<[String: Int]>([:])

    public init() {}

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let candidates = context.values[DiscoverElement.Candidates.self] ?? []
        guard !candidates.isEmpty else { throw NSMError.notFound("no endpoint candidates for \"\(request.connection.networkService)\"") }
        let start = counters.withLock { counters -> Int in
            let value = counters[request.connection.networkService, default: 0]
            counters[request.connection.networkService] = value &+ 1
            return value
        }
        var failures: [String] = []
        for offset in 0..<candidates.count {
            let candidate = candidates[(start + offset) % candidates.count]
            var request = request
            request.connection.networkServiceEndpointName = candidate.name
            var context = context
            do {
                context.nextHop = try NSMURL(candidate.url)
                let connection = try await next.request(request, context: context)
                context.metadata[Chosen.self] = candidate
                return connection
            } catch {
                guard error.isWorthRetryingElsewhere else { throw error }
                context.logger.info("endpoint failed, trying the next", metadata: ["nsm.endpoint": "\(candidate.name)", "error": "\(error)"])
                failures.append("\(candidate.name): \(error)")
            }
        }
        throw NSMError.unavailable("every endpoint of \"\(request.connection.networkService)\" failed: " + failures.joined(separator: "; "))
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var context = context
        if let chosen = context.metadata[Chosen.self] { context.nextHop = try? NSMURL(chosen.url) }
        try await next.close(connection, context: context)
    }
}
