import Foundation
import Kubernetes
import Testing

@Suite("Kubernetes configuration: kubeconfig and in-cluster")
struct KubernetesConnectionTests {
    static let pem = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
    static let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQ\n-----END EC PRIVATE KEY-----\n"

    /// A temporary directory removed when the test ends.
    final class Scratch {
        let path = NSTemporaryDirectory() + "nsm-kube-\(UUID().uuidString.prefix(8))"
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let file = "\(path)/\(name)"
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    static func config(current: String = "kind", user: String = "token: abc123", cluster: String = "") -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: \(current)
        clusters:
        - name: kind-cluster
          cluster:
            server: https://127.0.0.1:6443/
            certificate-authority-data: \(Data(pem.utf8).base64EncodedString())
        \(cluster)
        contexts:
        - name: kind
          context: {cluster: kind-cluster, user: admin, namespace: nsm-system}
        - name: other
          context: {cluster: kind-cluster, user: admin}
        users:
        - name: admin
          user:
            \(user)
        """
    }

    @Test("the current context: server, CA from base64 data, token, namespace")
    func currentContext() throws {
        let scratch = try Scratch()
        let path = try scratch.write("config", Self.config())
        let connection = try KubernetesConnection.kubeconfig(paths: [path])
        #expect(connection.server == "https://127.0.0.1:6443")
        #expect(connection.trust == .certificateAuthorities(pem: Self.pem))
        #expect(connection.credentials == .token("abc123"))
        #expect(connection.namespace == "nsm-system")
        #expect(connection.source == "kubeconfig \(path), context kind")
        #expect(try KubernetesConnection.kubeconfig(paths: [path], context: "other").namespace == "default")
    }

    @Test("client certificates and token files, relative paths from the kubeconfig's directory")
    func files() throws {
        let scratch = try Scratch()
        try scratch.write("certs/client.crt", Self.pem)
        try scratch.write("certs/client.key", Self.keyPEM)
        let certificate = try scratch.write("config", Self.config(user: "{client-certificate: certs/client.crt, client-key: certs/client.key}"))
        #expect(try KubernetesConnection.kubeconfig(paths: [certificate]).credentials == .clientCertificate(certificatePEM: Self.pem, keyPEM: Self.keyPEM))
        let tokenFile = try scratch.write("token-config", Self.config(user: "tokenFile: tokens/t"))
        #expect(try KubernetesConnection.kubeconfig(paths: [tokenFile]).credentials == .tokenFile("\(scratch.path)/tokens/t"))
    }

    @Test("KUBECONFIG lists merge: the first file to set a value wins; a missing file in the list is skipped")
    func merge() throws {
        let scratch = try Scratch()
        let first = try scratch.write("a", "current-context: other\n")
        let second = try scratch.write("b", Self.config(current: "kind"))
        let connection = try KubernetesConnection.find(environment: ["KUBECONFIG": "\(first):\(scratch.path)/missing:\(second)", "HOME": scratch.path])
        #expect(connection.namespace == "default")  // context "other", set by the first file
        #expect(connection.credentials == .token("abc123"))
    }

    @Test("what cannot be used is refused, naming the file and what to do", arguments: [
        (config(user: "exec: {command: aws}"), "authenticates with exec, which is not supported; use a token, a tokenFile or a client certificate"),
        (config(user: "auth-provider: {name: gcp}"), "authenticates with auth-provider"),
        (config(user: "{client-certificate-data: \(Data(pem.utf8).base64EncodedString())}"), "client certificate without its key"),
        (config(current: "missing"), "has no context \"missing\" (it has: kind, other)"),
        (config(user: "token: x").replacingOccurrences(of: "https://127.0.0.1:6443/", with: "127.0.0.1:6443"), "is not an http(s):// URL"),
        ("current-context: [", "is not a valid kubeconfig"),
    ])
    func refused(text: String, message: String) throws {
        let scratch = try Scratch()
        let path = try scratch.write("config", text)
        let error = #expect(throws: KubernetesConfigurationError.self) { try KubernetesConnection.kubeconfig(paths: [path]) }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains(path) == true)
    }

    @Test("in a pod: the service account's token file, CA and namespace; an IPv6 host in brackets; an explicit kubeconfig still wins")
    func inCluster() throws {
        let scratch = try Scratch()
        try scratch.write("sa/token", "eyJ...")
        try scratch.write("sa/ca.crt", Self.pem)
        try scratch.write("sa/namespace", "nsm-system\n")
        let environment = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"]
        let connection = try #require(try KubernetesConnection.inCluster(environment: environment, directory: "\(scratch.path)/sa"))
        #expect(connection.server == "https://[fd00::1]:443")
        #expect(connection.credentials == .tokenFile("\(scratch.path)/sa/token"))
        #expect(connection.trust == .certificateAuthorities(pem: Self.pem) && connection.namespace == "nsm-system")
        #expect(try KubernetesConnection.inCluster(environment: [:], directory: "\(scratch.path)/sa") == nil)
        let path = try scratch.write("config", Self.config())
        #expect(try KubernetesConnection.find(kubeconfig: path, environment: environment, serviceAccountDirectory: "\(scratch.path)/sa").server == "https://127.0.0.1:6443")
        #expect(throws: KubernetesConfigurationError.self) {
            try KubernetesConnection.inCluster(environment: environment, directory: "\(scratch.path)/nothing")
        }
    }

    @Test("nothing to go on is an error that lists where it looked")
    func nothing() throws {
        let scratch = try Scratch()
        let error = #expect(throws: KubernetesConfigurationError.self) { try KubernetesConnection.find(environment: ["HOME": scratch.path]) }
        #expect(error?.description.contains("not in a pod, no --kubeconfig, KUBECONFIG unset") == true)
    }
}
