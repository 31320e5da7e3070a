public import Kubernetes
public import NSMAPI

/// A NetworkServiceEndpoint custom resource (`networkserviceendpoints.networkservicemesh.io/v1`)
/// with upstream's shape: `spec` = the registry message as Go's encoding/json writes it
/// (snake_case keys, empty fields left out, timestamps as `{seconds, nanos}`), so objects written
/// by upstream's registry-k8s are read here and the other way round.
public struct NetworkServiceEndpointResource: KubernetesObject, Equatable {
    public static let resource = KubernetesResource(group: "networkservicemesh.io", version: "v1", plural: "networkserviceendpoints", namespaced: true)

    struct Spec: Codable, Sendable, Equatable {
        struct Labels: Codable, Sendable, Equatable { var labels: [String: String]? }
        var name: String?
        var network_service_names: [String]?
        var network_service_labels: [String: Labels]?
        var url: String?
        var expiration_time: GoTimestamp?
        var initial_registration_time: GoTimestamp?
        var path_ids: [String]?
    }

    public var apiVersion = "networkservicemesh.io/v1"
    public var kind = "NetworkServiceEndpoint"
    public var metadata: ObjectMeta
    var spec: Spec

    /// The resource for `endpoint`, named after it, in `namespace`.
    public init(_ endpoint: Registry_NetworkServiceEndpoint, namespace: String) {
        metadata = ObjectMeta(name: endpoint.name, namespace: namespace)
        spec = Spec(
            name: endpoint.name.nonEmpty, network_service_names: endpoint.networkServiceNames.nonEmpty,
            network_service_labels: endpoint.networkServiceLabels.mapValues { Spec.Labels(labels: $0.labels.nonEmpty) }.nonEmpty,
            url: endpoint.url.nonEmpty,
            expiration_time: endpoint.hasExpirationTime ? GoTimestamp(endpoint.expirationTime) : nil,
            initial_registration_time: endpoint.hasInitialRegistrationTime ? GoTimestamp(endpoint.initialRegistrationTime) : nil,
            path_ids: endpoint.pathIds.nonEmpty)
    }

    /// The registry message; its name is `metadata.name` when the spec has none (as upstream's).
    public var endpoint: Registry_NetworkServiceEndpoint {
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = spec.name ?? metadata.name ?? ""
        endpoint.networkServiceNames = spec.network_service_names ?? []
        for (service, labels) in spec.network_service_labels ?? [:] {
            var entry = Registry_NetworkServiceLabels()
            entry.labels = labels.labels ?? [:]
            endpoint.networkServiceLabels[service] = entry
        }
        endpoint.url = spec.url ?? ""
        if let expiry = spec.expiration_time { endpoint.expirationTime = expiry.timestamp }
        if let initial = spec.initial_registration_time { endpoint.initialRegistrationTime = initial.timestamp }
        endpoint.pathIds = spec.path_ids ?? []
        return endpoint
    }

    /// Replaces the spec with `endpoint`'s, keeping the object's metadata (its resourceVersion).
    public mutating func update(from endpoint: Registry_NetworkServiceEndpoint) {
        spec = NetworkServiceEndpointResource(endpoint, namespace: metadata.namespace ?? "").spec
    }
}
