public import Kubernetes

/// Where an admitted object keeps its pod: a Pod is its own, a workload has a template
/// (`spec.template`; a CronJob's is `spec.jobTemplate.spec.template`). Kinds the webhook does not
/// handle have none.
public struct PodTemplateLocation: Sendable, Equatable {
    /// Object keys from the admitted object to the pod (empty for a Pod).
    public var keys: [String]

    /// JSON Pointer prefix of the pod's members in a patch.
    public var pointer: String { keys.map { "/" + $0 }.joined() }
    public var isPod: Bool { keys.isEmpty }

    public init?(_ kind: AdmissionReview.GroupVersionKind) {
        switch (kind.group, kind.kind) {
        case ("", "Pod"): keys = []
        case ("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"), ("batch", "Job"):
            keys = ["spec", "template"]
        case ("batch", "CronJob"): keys = ["spec", "jobTemplate", "spec", "template"]
        default: return nil
        }
    }

    /// The kinds handled, as the webhook configurations' rules name them.
    public static let resources: [(group: String, resources: [String])] = [
        ("", ["pods"]), ("apps", ["deployments", "daemonsets", "statefulsets", "replicasets"]), ("batch", ["jobs", "cronjobs"]),
    ]

    /// A ReplicaSet made by a Deployment is left alone: the Deployment's template was handled.
    public static func ownedByDeployment(_ object: JSONValue) -> Bool {
        (object[path: ["metadata", "ownerReferences"]]?.array ?? []).contains { $0["kind"]?.string == "Deployment" }
    }
}
