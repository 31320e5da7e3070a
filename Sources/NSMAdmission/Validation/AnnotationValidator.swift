import Kubernetes
import NSMAnnotation

/// `POST /validate`: a malformed `networkservicemesh.io` annotation is refused when it is applied
/// — on a pod, a workload (its template's, or its own when the template has none) or a
/// Namespace — with the parser's message. An UPDATE is refused only when it changes the value, so
/// objects admitted before the webhook existed can still be updated.
public struct AnnotationValidator: Sendable {
    public let annotation: String

    public init(annotation: String) { self.annotation = annotation }

    public func review(_ request: AdmissionReview.Request) -> AdmissionReview.Response {
        guard ["CREATE", "UPDATE"].contains(request.operation), let object = request.object else { return .allow(request.uid) }
        for (value, place) in values(object, kind: request.kind) {
            if request.operation == "UPDATE", let old = request.oldObject, values(old, kind: request.kind).contains(where: { $0.value == value && $0.place == place }) {
                continue
            }
            do { _ = try NetworkServiceAnnotation.parse(value) } catch {
                let what = "\(request.kind.kind.lowercased())/\(request.name ?? object[path: ["metadata", "name"]]?.string ?? object[path: ["metadata", "generateName"]]?.string ?? "")"
                return .deny(request.uid, "the \(annotation) annotation\(place.isEmpty ? "" : " " + place) of \(what) is malformed: \(error)")
            }
        }
        return .allow(request.uid)
    }

    /// The annotation values that matter for this object, with where they sit.
    func values(_ object: JSONValue, kind: AdmissionReview.GroupVersionKind) -> [(value: String, place: String)] {
        if kind.group.isEmpty && kind.kind == "Namespace" {
            return Self.value(object, annotation).map { [($0, "(inherited by its pods)")] } ?? []
        }
        guard let location = PodTemplateLocation(kind) else { return [] }
        if location.isPod { return Self.value(object, annotation).map { [($0, "")] } ?? [] }
        guard let template = object[path: location.keys] else { return [] }
        if let value = Self.value(template, annotation) { return [(value, "in the pod template")] }
        if (template[path: ["metadata", "annotations"]]?.fields ?? [:]).isEmpty, let value = Self.value(object, annotation) {
            return [(value, "(used for the pod template, which has no annotations)")]
        }
        return []
    }

    static func value(_ object: JSONValue, _ annotation: String) -> String? {
        object[path: ["metadata", "annotations", annotation]]?.string
    }
}
