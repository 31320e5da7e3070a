import Foundation
import Kubernetes
import NSMAdmission
import Testing
import SwiftASN1
import X509

struct FixedNamespaces: NamespaceLookup {
    var facts: [String: NamespaceFacts]
    func namespace(_ name: String) -> NamespaceFacts? { facts[name] }
}

@Suite("Admission: settings, mutation, validation, certificates")
struct AdmissionTests {
    static func request(_ object: JSONValue, kind: String = "Pod", group: String = "", operation: String = "CREATE", namespace: String = "default") throws -> AdmissionReview.Request {
        let json: JSONValue = .object([
            "uid": .string("u-1"), "kind": .object(["group": .string(group), "version": .string("v1"), "kind": .string(kind)]),
            "operation": .string(operation), "namespace": .string(namespace), "object": object,
        ])
        return try JSONDecoder().decode(AdmissionReview.Request.self, from: JSONEncoder().encode(json))
    }

    static func pod(annotations: [String: String] = [:]) -> JSONValue {
        .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"),
            "metadata": .object(["name": .string("p"), "annotations": .object(annotations.mapValues { .string($0) })]),
            "spec": .object(["containers": .array([.object(["name": .string("app"), "image": .string("busybox")])])]),
        ])
    }

    static func operations(_ response: AdmissionReview.Response) throws -> [PatchOperation] {
        try JSONDecoder().decode([PatchOperation].self, from: Data(base64Encoded: try #require(response.patch))!)
    }

    @Test("environment: upstream's names read, malformed items refused naming the variable and the accepted form")
    func settings() throws {
        let settings = try InjectionSettings(environment: [
            "NSM_CONTAINER_IMAGES": "a/nsm:1", "NSM_ENVS": "NSM_LOG_LEVEL=TRACE,X=a=b", "NSM_LABELS": "spiffe.io/spiffe-id:true,team=blue",
            "NSM_SIDECAR_LIMITS_MEMORY": "100Mi",
        ])
        #expect(settings.containerImages == ["a/nsm:1"] && settings.initContainerImages == ["localhost/nsm:latest"])
        #expect(settings.environment.map(\.name) == ["NSM_LOG_LEVEL", "X"] && settings.environment.map(\.value) == ["TRACE", "a=b"])
        #expect(settings.labels == ["spiffe.io/spiffe-id": "true", "team": "blue"] && settings.limitsMemory == "100Mi")
        let bad = #expect(throws: InjectionSettingsError.self) { _ = try InjectionSettings(environment: ["NSM_ENVS": "NOVALUE"]) }
        #expect(bad?.description == #"NSM_ENVS: "NOVALUE" is not accepted; expected NAME=value items separated by commas"#)
    }

    @Test("a pod inherits its namespace's annotation; its own wins; none anywhere means no patch")
    func inheritance() throws {
        let mutator = Mutator(settings: InjectionSettings(), namespaces: FixedNamespaces(facts: [
            "team": NamespaceFacts(annotations: ["networkservicemesh.io": "kernel://svc-ns"]),
        ]))
        let inherited = try mutator.review(try Self.request(Self.pod(), namespace: "team"))
        let containers = try #require(try Self.operations(inherited).first { $0.path == "/spec/containers" }?.value.array)
        let env = try #require(containers.last?["env"]?.array)
        #expect(env.contains(.object(["name": .string("NSM_NETWORK_SERVICES"), "value": .string("kernel://svc-ns")])))
        let none = try mutator.review(try Self.request(Self.pod(), namespace: "other"))
        #expect(none.allowed && none.patch == nil)
        let updated = try mutator.review(try Self.request(Self.pod(annotations: ["networkservicemesh.io": "kernel://a"]), operation: "UPDATE"))
        #expect(updated.allowed && updated.patch == nil)
    }

    @Test("a malformed annotation is refused by both webhooks with the parser's message")
    func malformed() throws {
        let pod = Self.pod(annotations: ["networkservicemesh.io": "kernel://ok, memif://svc"])
        let mutated = try Mutator(settings: InjectionSettings(), namespaces: FixedNamespaces(facts: [:])).review(try Self.request(pod))
        #expect(!mutated.allowed && mutated.status?.message.contains("memif") == true)
        let validated = AnnotationValidator(annotation: "networkservicemesh.io").review(try Self.request(pod))
        #expect(!validated.allowed && validated.status?.message.hasPrefix("the networkservicemesh.io annotation of pod/p is malformed: ") == true)
    }

    @Test("the self-issued serving certificate chains to its CA and names the Service and the address")
    func selfIssued() async throws {
        let material = try SelfIssuedCertificate.make(dnsNames: SelfIssuedCertificate.serviceNames("hook", namespace: "nsm-system"), ipAddresses: ["127.0.0.1", "::1"])
        let authority = try Certificate(pemEncoded: material.authorityPEM)
        let leaf = try Certificate(pemEncoded: material.chainPEM)
        var verifier = Verifier(rootCertificates: CertificateStore([authority])) {
            RFC5280Policy(validationTime: Date())
            ServerIdentityPolicy(serverHostname: "hook.nsm-system.svc", serverIP: nil)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
        guard case .validCertificate = result else { Issue.record("not valid: \(result)"); return }
        var wrongName = Verifier(rootCertificates: CertificateStore([authority])) {
            RFC5280Policy(validationTime: Date())
            ServerIdentityPolicy(serverHostname: "elsewhere.example", serverIP: nil)
        }
        guard case .couldNotValidate = await wrongName.validate(leaf: leaf, intermediates: CertificateStore()) else {
            Issue.record("a name the certificate lacks was accepted"); return
        }
        #expect(throws: WebhookCertificateError.self) { _ = try SelfIssuedCertificate.make(dnsNames: ["a"], ipAddresses: ["not-an-ip"]) }
        #expect(throws: WebhookCertificateError.self) { _ = try ServingCertificate(.init(chainPEM: material.chainPEM, keyPEM: "garbage", authorityPEM: "")) }
    }
}
