public import Kubernetes

/// What the webhook needs of a Namespace: its annotations (pods inherit the mesh's) and its
/// PodSecurity enforcement level.
public struct NamespaceFacts: Sendable, Equatable {
    public var annotations: [String: String]
    public var labels: [String: String]

    public init(annotations: [String: String] = [:], labels: [String: String] = [:]) {
        self.annotations = annotations
        self.labels = labels
    }

    public init(_ object: UnstructuredObject) {
        self.init(annotations: object.metadata.annotations ?? [:], labels: object.metadata.labels ?? [:])
    }

    public static let enforceLabel = "pod-security.kubernetes.io/enforce"

    /// `baseline` and `restricted` refuse hostPath volumes; `privileged` (the default) allows them.
    public var refusesHostPath: Bool { ["baseline", "restricted"].contains(labels[Self.enforceLabel] ?? "privileged") }
}

/// Where the webhook looks namespaces up (an informer's cache in a cluster).
public protocol NamespaceLookup: Sendable {
    func namespace(_ name: String) -> NamespaceFacts?
}

/// Namespaces from a list-then-watch cache: no API call on the admission path.
public struct InformerNamespaceLookup: NamespaceLookup {
    public let informer: Informer<UnstructuredObject>

    public init(client: KubernetesClient) {
        informer = Informer(client: client, resource: .namespaces)
    }

    public func namespace(_ name: String) -> NamespaceFacts? { informer.object(name: name).map(NamespaceFacts.init) }
}
