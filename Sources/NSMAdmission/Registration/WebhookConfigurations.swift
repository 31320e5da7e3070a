import Foundation
public import Kubernetes

/// The webhook's two configurations — `MutatingWebhookConfiguration` (inject) and
/// `ValidatingWebhookConfiguration` (refuse malformed annotations) — as the webhook registers them
/// itself in `selfregister` mode and as `deploy/` ships them for the file mode.
public struct WebhookConfigurations: Sendable {
    /// Both configurations' name (`NSM_NAME`).
    public var name = "nsm-admission-webhook"
    /// The webhook's namespace (`NSM_NAMESPACE`), excluded from admission with kube-system.
    public var namespace = "nsm-system"
    /// The Service in front of the webhook (`NSM_SERVICE_NAME`) and its port.
    public var serviceName = "nsm-admission-webhook"
    public var servicePort = 443
    /// A URL instead of the Service (`NSM_WEBHOOK_URL`: a webhook outside the cluster).
    public var url: String?
    /// `Fail` or `Ignore` for the mutating webhook (`NSM_FAILURE_POLICY`, default `Ignore`: a
    /// webhook that is down must not stop every pod of the cluster from being created).
    public var failurePolicy = "Ignore"
    public var timeoutSeconds = 10

    public init() {}

    public static let mutatingWebhookName = "inject.networkservicemesh.io"
    public static let validatingWebhookName = "validate.networkservicemesh.io"

    public func mutating(caBundle: String) -> UnstructuredObject {
        configuration(kind: "MutatingWebhookConfiguration", webhook: Self.mutatingWebhookName, path: "/mutate", operations: ["CREATE"],
                      extraRules: [], failurePolicy: failurePolicy, caBundle: caBundle, extra: ["reinvocationPolicy": .string("Never")])
    }

    public func validating(caBundle: String) -> UnstructuredObject {
        let namespaces: JSONValue = .object([
            "operations": .array([.string("CREATE"), .string("UPDATE")]), "apiGroups": .array([.string("")]),
            "apiVersions": .array([.string("v1")]), "resources": .array([.string("namespaces")]), "scope": .string("*"),
        ])
        return configuration(kind: "ValidatingWebhookConfiguration", webhook: Self.validatingWebhookName, path: "/validate",
                             operations: ["CREATE", "UPDATE"], extraRules: [namespaces], failurePolicy: "Ignore", caBundle: caBundle, extra: [:])
    }

    func configuration(
        kind: String, webhook: String, path: String, operations: [String], extraRules: [JSONValue], failurePolicy: String, caBundle: String,
        extra: [String: JSONValue]
    ) -> UnstructuredObject {
        var client: [String: JSONValue] = ["caBundle": .string(Data(caBundle.utf8).base64EncodedString())]
        if let url {
            client["url"] = .string(url + path)
        } else {
            client["service"] = .object([
                "namespace": .string(namespace), "name": .string(serviceName), "path": .string(path), "port": .number(Double(servicePort)),
            ])
        }
        let rules = PodTemplateLocation.resources.map { group, resources in
            JSONValue.object([
                "operations": .array(operations.map { .string($0) }), "apiGroups": .array([.string(group)]),
                "apiVersions": .array([.string("v1")]), "resources": .array(resources.map { .string($0) }), "scope": .string("Namespaced"),
            ])
        } + extraRules
        var hook: [String: JSONValue] = [
            "name": .string(webhook),
            "clientConfig": .object(client),
            "rules": .array(rules),
            "failurePolicy": .string(failurePolicy),
            "matchPolicy": .string("Equivalent"),
            "sideEffects": .string("None"),
            "admissionReviewVersions": .array([.string("v1")]),
            "timeoutSeconds": .number(Double(timeoutSeconds)),
            "namespaceSelector": .object(["matchExpressions": .array([.object([
                "key": .string("kubernetes.io/metadata.name"), "operator": .string("NotIn"),
                "values": .array([.string("kube-system"), .string(namespace)]),
            ])])]),
        ]
        for (key, value) in extra { hook[key] = value }
        return UnstructuredObject(apiVersion: "admissionregistration.k8s.io/v1", kind: kind,
                                  metadata: ObjectMeta(name: name, labels: ["app.kubernetes.io/part-of": "networkservicemesh"]),
                                  fields: ["webhooks": .array([.object(hook)])])
    }
}
