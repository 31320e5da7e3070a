/// `metadata` of every Kubernetes object (the fields the mesh reads or writes).
public struct ObjectMeta: Codable, Sendable, Equatable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    /// Opaque: compared for equality, never ordered.
    public var resourceVersion: String?
    public var generation: Int?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

/// What every object this client reads and writes has.
public protocol KubernetesObject: Codable, Sendable {
    var metadata: ObjectMeta { get set }
}

/// A list as LIST answers it: its items and where the list stands.
public struct KubernetesList<Item: Codable & Sendable>: Codable, Sendable {
    public struct Meta: Codable, Sendable, Equatable {
        public var resourceVersion: String?
        /// Set when more pages follow (`limit` was given).
        public var `continue`: String?
    }
    public var metadata: Meta
    public var items: [Item]

    public init(metadata: Meta, items: [Item]) {
        self.metadata = metadata
        self.items = items
    }
}

/// One line of a watch: what happened to which object.
public struct WatchEvent<Object: Codable & Sendable>: Sendable {
    public enum Kind: String, Codable, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR" }
    public var type: Kind
    /// The object (for BOOKMARK only its `metadata.resourceVersion` means anything).
    public var object: Object?
    /// For ERROR: the server's Status.
    public var status: KubernetesStatus?
    /// The resourceVersion the event carries.
    public var resourceVersion: String?
}
