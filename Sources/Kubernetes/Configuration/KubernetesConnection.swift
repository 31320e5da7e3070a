import Foundation

/// Where a Kubernetes API server is and how to talk to it, however it was found (in a pod, or
/// from a kubeconfig): everything the HTTP client needs, and nothing about the mesh.
public struct KubernetesConnection: Sendable, Equatable {
    /// How the server's certificate is checked.
    public enum Trust: Sendable, Equatable {
        /// PEM certificates of the CAs to trust (from `ca.crt`, `certificate-authority(-data)`).
        case certificateAuthorities(pem: String)
        /// The system's trust store.
        case system
        /// `insecure-skip-tls-verify: true`: no check at all.
        case insecure
    }

    /// How the client proves who it is.
    public enum Credentials: Sendable, Equatable {
        case none
        /// A bearer token, fixed.
        case token(String)
        /// A bearer token read from a file, again before each use once it may have changed
        /// (service account tokens are projected and rotate).
        case tokenFile(String)
        /// A client certificate and its key, PEM.
        case clientCertificate(certificatePEM: String, keyPEM: String)
    }

    /// `https://host:port` (an IPv6 host in brackets), without a trailing slash.
    public var server: String
    public var trust: Trust
    public var credentials: Credentials
    /// The namespace to use when none is given (the context's, or the pod's).
    public var namespace: String
    /// The name the server's certificate must carry, when it is not the host (`tls-server-name`).
    public var serverName: String?
    /// Where this came from, for messages: `in-cluster`, or `kubeconfig <path>, context <name>`.
    public var source: String

    public init(server: String, trust: Trust, credentials: Credentials, namespace: String = "default", serverName: String? = nil, source: String) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.trust = trust
        self.credentials = credentials
        self.namespace = namespace
        self.serverName = serverName
        self.source = source
    }
}

/// A configuration that cannot be used, saying which file or variable and why.
public struct KubernetesConfigurationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
