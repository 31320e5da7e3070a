import Foundation

extension KubernetesConnection {
    /// The service account's files in a pod.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The API server as a pod sees it, as client-go's in-cluster config: the
    /// `KUBERNETES_SERVICE_HOST`/`_PORT` variables, and the service account's `token` (re-read as
    /// it rotates), `ca.crt` and `namespace`. Nil when the variables are not set (not in a pod).
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment, directory: String = serviceAccountDirectory
    ) throws -> KubernetesConnection? {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else { return nil }
        guard let portNumber = UInt16(port) else {
            throw KubernetesConfigurationError("KUBERNETES_SERVICE_PORT \"\(port)\" is not a port number")
        }
        let token = "\(directory)/token"
        guard FileManager.default.isReadableFile(atPath: token) else {
            throw KubernetesConfigurationError("in a pod (KUBERNETES_SERVICE_HOST is set) but \(token) cannot be read: is a service account token mounted?")
        }
        let caPath = "\(directory)/ca.crt"
        guard let ca = try? String(contentsOfFile: caPath, encoding: .utf8), ca.contains("BEGIN CERTIFICATE") else {
            throw KubernetesConfigurationError("in a pod but \(caPath) is missing or holds no PEM certificate")
        }
        let namespace = (try? String(contentsOfFile: "\(directory)/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubernetesConnection(
            server: "https://\(hostPart):\(portNumber)", trust: .certificateAuthorities(pem: ca), credentials: .tokenFile(token),
            namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default", source: "in-cluster (service account)")
    }
}
