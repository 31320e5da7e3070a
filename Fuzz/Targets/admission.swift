// libFuzzer target: the webhook's admission path without HTTP — any bytes as the JSON body of an
// AdmissionReview (Foundation's decoder into our types), then the mutating and the validating
// review of what decoded. Invariants: every review answers its request's uid; an allowed one
// with a patch carries a JSON Patch (an array of operations with op and path, as RFC 6902) that
// adds under the pod's own members; a denial says why.
import Foundation
import Kubernetes

private struct Namespaces: NamespaceLookup {
    func namespace(_ name: String) -> NamespaceFacts? {
        name == "restricted" ? NamespaceFacts(labels: [NamespaceFacts.enforceLabel: "restricted"])
            : NamespaceFacts(annotations: name == "meshed" ? ["networkservicemesh.io": "kernel://from-namespace"] : [:])
    }
}

private let mutator = Mutator(settings: InjectionSettings(), namespaces: Namespaces())
private let validator = AnnotationValidator(annotation: "networkservicemesh.io")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdmission(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let body = Data(bytes: data, count: size)
    guard let review = try? JSONDecoder().decode(AdmissionReview.self, from: body), let request = review.request else { return 0 }
    for response in [try? mutator.review(request), validator.review(request)].compactMap({ $0 }) {
        precondition(response.uid == request.uid, "answered another request")
        if !response.allowed { precondition(response.status?.message.isEmpty == false, "a denial without a reason") }
        guard let patch = response.patch else { continue }
        precondition(response.allowed && response.patchType == "JSONPatch", "a patch on a denial or of another type")
        guard let decoded = Data(base64Encoded: patch),
              let operations = try? JSONSerialization.jsonObject(with: decoded) as? [[String: Any]]
        else { preconditionFailure("the patch is not base64 of a JSON array of operations") }
        for operation in operations {
            precondition(operation["op"] as? String == "add", "an operation that is not add: \(operation)")
            guard let path = operation["path"] as? String, path.hasPrefix("/metadata") || path.hasPrefix("/spec") else {
                preconditionFailure("an operation outside the pod's members: \(operation)")
            }
        }
    }
    return 0
}
