public import Kubernetes
public import NSMAPI

/// A NetworkService custom resource (`networkservices.networkservicemesh.io/v1`) with upstream's
/// shape (see ``NetworkServiceEndpointResource``). Users may write one by hand: `spec.name`
/// defaults to `metadata.name`.
public struct NetworkServiceResource: KubernetesObject, Equatable {
    public static let resource = KubernetesResource(group: "networkservicemesh.io", version: "v1", plural: "networkservices", namespaced: true)

    struct Spec: Codable, Sendable, Equatable {
        struct Match: Codable, Sendable, Equatable {
            struct Destination: Codable, Sendable, Equatable {
                var destination_selector: [String: String]?
                var weight: UInt32?
            }
            struct Metadata: Codable, Sendable, Equatable { var labels: [String: String]? }
            var source_selector: [String: String]?
            var routes: [Destination]?
            var `fallthrough`: Bool?
            var metadata: Metadata?
        }
        var name: String?
        var payload: String?
        var matches: [Match]?
        var path_ids: [String]?
    }

    public var apiVersion = "networkservicemesh.io/v1"
    public var kind = "NetworkService"
    public var metadata: ObjectMeta
    var spec: Spec

    public init(_ service: Registry_NetworkService, namespace: String) {
        metadata = ObjectMeta(name: service.name, namespace: namespace)
        spec = Spec(
            name: service.name.nonEmpty, payload: service.payload.nonEmpty,
            matches: service.matches.map { match in
                Spec.Match(
                    source_selector: match.sourceSelector.nonEmpty,
                    routes: match.routes.map { Spec.Match.Destination(destination_selector: $0.destinationSelector.nonEmpty, weight: $0.weight == 0 ? nil : $0.weight) }.nonEmpty,
                    `fallthrough`: match.fallthrough ? true : nil,
                    metadata: match.hasMetadata ? Spec.Match.Metadata(labels: match.metadata.labels.nonEmpty) : nil)
            }.nonEmpty,
            path_ids: service.pathIds.nonEmpty)
    }

    public var service: Registry_NetworkService {
        var service = Registry_NetworkService()
        service.name = spec.name ?? metadata.name ?? ""
        service.payload = spec.payload ?? ""
        service.matches = (spec.matches ?? []).map { spec in
            var match = Registry_Match()
            match.sourceSelector = spec.source_selector ?? [:]
            match.routes = (spec.routes ?? []).map { route in
                var destination = Registry_Destination()
                destination.destinationSelector = route.destination_selector ?? [:]
                destination.weight = route.weight ?? 0
                return destination
            }
            match.fallthrough = spec.`fallthrough` ?? false
            if let metadata = spec.metadata {
                var labels = Registry_Metadata()
                labels.labels = metadata.labels ?? [:]
                match.metadata = labels
            }
            return match
        }
        service.pathIds = spec.path_ids ?? []
        return service
    }

    public mutating func update(from service: Registry_NetworkService) {
        spec = NetworkServiceResource(service, namespace: metadata.namespace ?? "").spec
    }
}
