import Foundation
/// A kind of object and where the API serves it.
public struct KubernetesResource: Sendable, Hashable, CustomStringConvertible {
    /// Empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    /// The plural lower-case name in paths (`networkserviceendpoints`).
    public var plural: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.namespaced = namespaced
    }

    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// `/api/v1/…` or `/apis/<group>/<version>/…`, in `namespace` when given (all namespaces
    /// otherwise), for the object `name` when given.
    public func path(namespace: String? = nil, name: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace, !namespace.isEmpty { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        return path
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/"))) ?? segment
    }

    public static let configMaps = KubernetesResource(group: "", version: "v1", plural: "configmaps", namespaced: true)
    public static let services = KubernetesResource(group: "", version: "v1", plural: "services", namespaced: true)
    public static let nodes = KubernetesResource(group: "", version: "v1", plural: "nodes", namespaced: false)
    public static let namespaces = KubernetesResource(group: "", version: "v1", plural: "namespaces", namespaced: false)
    public static let serviceCIDRs = KubernetesResource(group: "networking.k8s.io", version: "v1", plural: "servicecidrs", namespaced: false)
    public static let customResourceDefinitions = KubernetesResource(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", namespaced: false)
    public static let mutatingWebhookConfigurations = KubernetesResource(
        group: "admissionregistration.k8s.io", version: "v1", plural: "mutatingwebhookconfigurations", namespaced: false)
    public static let validatingWebhookConfigurations = KubernetesResource(
        group: "admissionregistration.k8s.io", version: "v1", plural: "validatingwebhookconfigurations", namespaced: false)
}
