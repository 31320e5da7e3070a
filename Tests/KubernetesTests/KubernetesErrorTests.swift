import Foundation
import Kubernetes
import Testing

@Suite("Kubernetes Status errors")
struct KubernetesErrorTests {
    @Test("a Status body becomes the server's own message, its causes, code and reason")
    func messages() throws {
        let conflict = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"networkserviceendpoints.networkservicemesh.io \"x\" already exists","reason":"AlreadyExists","details":{"name":"x","group":"networkservicemesh.io","kind":"networkserviceendpoints"},"code":409}"#
        let status = try JSONDecoder().decode(KubernetesStatus.self, from: Data(conflict.utf8))
        let error = KubernetesError(status: status, operation: "create networkserviceendpoints in nsm-system")
        #expect(error.description == #"create networkserviceendpoints in nsm-system: networkserviceendpoints.networkservicemesh.io "x" already exists [409 AlreadyExists]"#)
        #expect(error.isAlreadyExists && !error.isConflict && !error.isNotFound)
        let invalid = KubernetesStatus(message: "NetworkServiceEndpoint \"Bad\" is invalid", reason: "Invalid", code: 422, details: .init(
            name: "Bad", group: nil, kind: nil, causes: [.init(reason: "FieldValueInvalid", message: "must be lowercase", field: "metadata.name")]))
        #expect(KubernetesError(status: invalid, operation: "create").description
            == #"create: NetworkServiceEndpoint "Bad" is invalid (metadata.name: must be lowercase) [422 Invalid]"#)
        #expect(KubernetesError(status: .init(message: "too old resource version: 1 (5)", reason: "Expired", code: 410), operation: "watch").isExpired)
    }
}
