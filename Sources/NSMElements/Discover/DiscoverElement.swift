import SwiftProtobuf
import Foundation
public import NSMAPI
public import NSMCore

/// Finds the endpoints that can serve a request: when the request names an endpoint
/// (`network_service_endpoint_name`, e.g. chosen by the remote side's forwarder or kept on
/// refresh) just that one — on a refresh of a connection this hop made, the one it chose then
/// when the registry no longer knows it (away, or restarted); otherwise the NetworkService's endpoints that have not expired,
/// narrowed by its `matches` (``EndpointSelector``). Copies the service's payload into the
/// connection and hands the candidates to ``RoundRobinElement`` in `context.values`.
public struct DiscoverElement: NetworkServiceElement {
    public enum Candidates: MetadataKey { public typealias Value = [Registry_NetworkServiceEndpoint] }

    let registry: any RegistryReader
    let now: @Sendable () -> Date

    public init(registry: any RegistryReader, now: @escaping @Sendable () -> Date = { Date() }) {
        self.registry = registry
        self.now = now
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        var context = context
        let serviceName = request.connection.networkService
        guard !serviceName.isEmpty else { throw NSMError.invalidArgument("request.connection.network_service must not be empty") }
        let chosenName = request.connection.networkServiceEndpointName
        // A refresh of a connection this hop made to that endpoint needs no registry: the registry
        // may be away, or restarted and not yet told of the endpoint again. If the endpoint is
        // gone, reaching it fails and the client reselects.
        if !chosenName.isEmpty, let previous = context.metadata[RoundRobinElement.Chosen.self], previous.name == chosenName {
            let known = try? await registry.endpoints(matching: .with { $0.name = chosenName }).filter { !isExpired($0) }
            context.values[Candidates.self] = known.flatMap { $0.isEmpty ? nil : $0 } ?? [previous]
            return try await next.request(request, context: context)
        }
        let service = try await registry.networkService(named: serviceName)
        if let payload = service?.payload, !payload.isEmpty, request.connection.payload.isEmpty {
            request.connection.payload = payload
        }
        if !chosenName.isEmpty {
            var query = Registry_NetworkServiceEndpoint()
            query.name = chosenName
            let found = try await registry.endpoints(matching: query).filter { !isExpired($0) }
            guard !found.isEmpty else {
                throw NSMError.notFound("network service endpoint \"\(chosenName)\" for service \"\(serviceName)\" is not registered (or expired)")
            }
            context.values[Candidates.self] = found
            return try await next.request(request, context: context)
        }
        guard let service else {
            throw NSMError.notFound("network service \"\(serviceName)\" is not registered")
        }
        var query = Registry_NetworkServiceEndpoint()
        query.networkServiceNames = [serviceName]
        let all = try await registry.endpoints(matching: query).filter { !isExpired($0) }
        let selected = EndpointSelector.select(service: service, labels: request.connection.labels, candidates: all)
        guard !selected.isEmpty else {
            let labels = request.connection.labels.labelsDescription
            throw NSMError.notFound(
                "no endpoint of network service \"\(serviceName)\" matches the request labels {\(labels)}"
                    + " (\(all.count) endpoint(s) registered for it)")
        }
        context.values[Candidates.self] = selected
        return try await next.request(request, context: context)
    }

    func isExpired(_ endpoint: Registry_NetworkServiceEndpoint) -> Bool {
        endpoint.hasExpirationTime && endpoint.expirationTime.date < now()
    }
}
