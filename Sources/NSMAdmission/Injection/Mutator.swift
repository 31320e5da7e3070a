import Kubernetes
import Foundation
import NSMAnnotation

/// `POST /mutate`, as upstream's webhook: on CREATE of a Pod or a workload with a pod template
/// (a ReplicaSet made by a Deployment excepted), when the pod asks for network services — by its
/// own annotation, its template's (or the workload's when the template has none), or, for a Pod
/// without one, its Namespace's — answer with the patch that injects `nsm client --init` and the
/// `nsm client` sidecar. Everything else is allowed untouched. A malformed annotation is refused
/// with the parser's message (the pod could never connect).
public struct Mutator: Sendable {
    public let settings: InjectionSettings
    public let namespaces: any NamespaceLookup

    public init(settings: InjectionSettings, namespaces: any NamespaceLookup) {
        self.settings = settings
        self.namespaces = namespaces
    }

    public func review(_ request: AdmissionReview.Request) throws -> AdmissionReview.Response {
        guard request.operation == "CREATE", let location = PodTemplateLocation(request.kind), let object = request.object else {
            return .allow(request.uid)
        }
        if request.kind.kind == "ReplicaSet", PodTemplateLocation.ownedByDeployment(object) { return .allow(request.uid) }
        guard let pod = location.isPod ? object : object[path: location.keys], !InjectionPatch.injected(pod) else { return .allow(request.uid) }
        let namespace = request.namespace ?? object[path: ["metadata", "namespace"]]?.string ?? ""
        let facts = namespaces.namespace(namespace)
        var source = "pod"
        var services = AnnotationValidator.value(pod, settings.annotation)
        if services == nil, !location.isPod, (pod[path: ["metadata", "annotations"]]?.fields ?? [:]).isEmpty {
            services = AnnotationValidator.value(object, settings.annotation)
            source = request.kind.kind.lowercased()
        }
        if services == nil, location.isPod, let inherited = facts?.annotations[settings.annotation] {
            services = inherited
            source = "namespace \(namespace)"
        }
        guard let services, !services.trimmingCharacters(in: .whitespaces).isEmpty else { return .allow(request.uid) }
        do { _ = try NetworkServiceAnnotation.parse(services) } catch {
            return .deny(request.uid, "the \(settings.annotation) annotation (from the \(source)) is malformed: \(error)")
        }
        if let problem = InjectionPatch.shapeProblem(pod) {
            return .deny(request.uid, "cannot inject the client into this \(request.kind.kind) (it asks for network services by its annotation from the \(source)): \(problem)")
        }
        let operations = InjectionPatch(settings: settings).operations(pod: pod, at: location, services: services, clientName: clientName(pod, location))
        var warnings: [String] = []
        if facts?.refusesHostPath == true {
            let level = facts?.labels[NamespaceFacts.enforceLabel] ?? ""
            warnings.append(
                "namespace \(namespace) enforces PodSecurity \"\(level)\", which refuses hostPath volumes: the injected \(InjectionSettings.volumeName) "
                    + "volume (\(settings.socketDirectory), the node's NSM socket) will be refused and the pod not created. Label the namespace "
                    + "\(NamespaceFacts.enforceLabel)=privileged, or run the pod in a namespace that allows hostPath (docs/kubernetes.md, \"Restricted namespaces\")")
        }
        var response = AdmissionReview.Response.allow(request.uid, warnings: warnings)
        response.patchType = "JSONPatch"
        response.patch = try JSONEncoder().encode(operations).base64EncodedString()
        return response
    }

    /// `NSM_NAME` for both injected containers: the pod's name when it is generated (unique), else
    /// the name and a random suffix, so a pod re-created under the same name gets new connection ids.
    func clientName(_ pod: JSONValue, _ location: PodTemplateLocation) -> String {
        let generated = !location.isPod || pod[path: ["metadata", "generateName"]]?.string?.isEmpty == false
            || pod[path: ["metadata", "name"]]?.string?.isEmpty != false
        return generated ? "$(POD_NAME)" : "$(POD_NAME)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
