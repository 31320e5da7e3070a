import Foundation
import Yams

/// A kubeconfig file as kubectl and client-go read it (the fields this client uses).
struct Kubeconfig: Decodable {
    struct NamedCluster: Decodable { var name: String; var cluster: Cluster }
    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        var tlsServerName: String?
        enum CodingKeys: String, CodingKey {
            case server, certificateAuthority = "certificate-authority", certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify", tlsServerName = "tls-server-name"
        }
    }
    struct NamedUser: Decodable { var name: String; var user: User }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var exec: AnyPresent?
        var authProvider: AnyPresent?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, exec, authProvider = "auth-provider"
            case clientCertificate = "client-certificate", clientCertificateData = "client-certificate-data"
            case clientKey = "client-key", clientKeyData = "client-key-data"
        }
    }
    struct NamedContext: Decodable { var name: String; var context: Context }
    struct Context: Decodable { var cluster: String; var user: String?; var namespace: String? }
    /// A field whose presence is all that matters here.
    struct AnyPresent: Decodable { init(from decoder: any Decoder) throws {} }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?
    enum CodingKeys: String, CodingKey { case clusters, users, contexts, currentContext = "current-context" }
}

extension KubernetesConnection {
    /// The connection a kubeconfig describes: the files of a `KUBECONFIG`-style list merged as
    /// client-go merges them (the first file to set a value wins; relative paths are relative to
    /// the file that names them), then `context` (or the current context) resolved.
    public static func kubeconfig(paths: [String], context requested: String? = nil) throws -> KubernetesConnection {
        var clusters: [String: (Kubeconfig.Cluster, directory: String)] = [:]
        var users: [String: (Kubeconfig.User, directory: String)] = [:]
        var contexts: [String: Kubeconfig.Context] = [:]
        var current: String?
        var read: [String] = []
        for path in paths where !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                if paths.count == 1 { throw KubernetesConfigurationError("kubeconfig \(path) cannot be read") }
                continue  // as kubectl: a missing file in a list is skipped
            }
            let file: Kubeconfig
            do { file = try YAMLDecoder().decode(Kubeconfig.self, from: text) } catch {
                throw KubernetesConfigurationError("kubeconfig \(path) is not a valid kubeconfig: \(error)")
            }
            let directory = (path as NSString).deletingLastPathComponent
            for entry in file.clusters ?? [] where clusters[entry.name] == nil { clusters[entry.name] = (entry.cluster, directory) }
            for entry in file.users ?? [] where users[entry.name] == nil { users[entry.name] = (entry.user, directory) }
            for entry in file.contexts ?? [] where contexts[entry.name] == nil { contexts[entry.name] = entry.context }
            if current == nil, let value = file.currentContext, !value.isEmpty { current = value }
            read.append(path)
        }
        let files = read.joined(separator: ":")
        guard !read.isEmpty else { throw KubernetesConfigurationError("no kubeconfig could be read (looked at \(paths.joined(separator: ", ")))") }
        guard let contextName = requested ?? current else {
            throw KubernetesConfigurationError("kubeconfig \(files) has no current-context; set one (kubectl config use-context NAME) or name a context")
        }
        guard let context = contexts[contextName] else {
            throw KubernetesConfigurationError("kubeconfig \(files) has no context \"\(contextName)\" (it has: \(contexts.keys.sorted().joined(separator: ", ")))")
        }
        guard let (cluster, clusterDirectory) = clusters[context.cluster] else {
            throw KubernetesConfigurationError("kubeconfig \(files): context \"\(contextName)\" names cluster \"\(context.cluster)\", which it does not define")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw KubernetesConfigurationError("kubeconfig \(files): cluster \"\(context.cluster)\" has no server")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubernetesConfigurationError("kubeconfig \(files): cluster \"\(context.cluster)\" server \"\(server)\" is not an http(s):// URL")
        }
        let source = "kubeconfig \(files), context \(contextName)"
        let trust = try Self.trust(cluster, directory: clusterDirectory, name: context.cluster, files: files)
        var credentials = Credentials.none
        if let userName = context.user, !userName.isEmpty {
            guard let (user, userDirectory) = users[userName] else {
                throw KubernetesConfigurationError("kubeconfig \(files): context \"\(contextName)\" names user \"\(userName)\", which it does not define")
            }
            credentials = try Self.credentials(user, directory: userDirectory, name: userName, files: files)
        }
        return KubernetesConnection(
            server: server, trust: trust, credentials: credentials, namespace: context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            serverName: cluster.tlsServerName, source: source)
    }

    private static func trust(_ cluster: Kubeconfig.Cluster, directory: String, name: String, files: String) throws -> Trust {
        if cluster.insecureSkipTLSVerify == true { return .insecure }
        if let data = cluster.certificateAuthorityData {
            return .certificateAuthorities(pem: try decodeBase64PEM(data, field: "clusters[\(name)].certificate-authority-data", files: files))
        }
        if let path = cluster.certificateAuthority {
            return .certificateAuthorities(pem: try readPEM(path, relativeTo: directory, field: "clusters[\(name)].certificate-authority", files: files))
        }
        return .system
    }

    private static func credentials(_ user: Kubeconfig.User, directory: String, name: String, files: String) throws -> Credentials {
        if user.exec != nil || user.authProvider != nil {
            let kind = user.exec != nil ? "exec" : "auth-provider"
            throw KubernetesConfigurationError(
                "kubeconfig \(files): user \"\(name)\" authenticates with \(kind), which is not supported; use a token, a tokenFile or a client certificate")
        }
        if user.username != nil {
            throw KubernetesConfigurationError("kubeconfig \(files): user \"\(name)\" uses basic auth (username/password), which is not supported; use a token or a client certificate")
        }
        if let token = user.token, !token.isEmpty { return .token(token) }
        if let file = user.tokenFile, !file.isEmpty { return .tokenFile(absolute(file, relativeTo: directory)) }
        let certificate = try user.clientCertificateData.map { try decodeBase64PEM($0, field: "users[\(name)].client-certificate-data", files: files) }
            ?? user.clientCertificate.map { try readPEM($0, relativeTo: directory, field: "users[\(name)].client-certificate", files: files) }
        let key = try user.clientKeyData.map { try decodeBase64PEM($0, field: "users[\(name)].client-key-data", files: files) }
            ?? user.clientKey.map { try readPEM($0, relativeTo: directory, field: "users[\(name)].client-key", files: files) }
        switch (certificate, key) {
        case (let certificate?, let key?): return .clientCertificate(certificatePEM: certificate, keyPEM: key)
        case (nil, nil): return .none
        default:
            throw KubernetesConfigurationError("kubeconfig \(files): user \"\(name)\" has a client certificate without its key, or a key without its certificate")
        }
    }

    static func absolute(_ path: String, relativeTo directory: String) -> String {
        path.hasPrefix("/") || directory.isEmpty ? path : "\(directory)/\(path)"
    }

    private static func readPEM(_ path: String, relativeTo directory: String, field: String, files: String) throws -> String {
        let full = absolute(path, relativeTo: directory)
        guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
            throw KubernetesConfigurationError("kubeconfig \(files): \(field) \(full) cannot be read")
        }
        guard text.contains("-----BEGIN ") else { throw KubernetesConfigurationError("kubeconfig \(files): \(field) \(full) is not PEM") }
        return text
    }

    private static func decodeBase64PEM(_ base64: String, field: String, files: String) throws -> String {
        guard let data = Data(base64Encoded: base64.filter { !$0.isWhitespace }), let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN ") else {
            throw KubernetesConfigurationError("kubeconfig \(files): \(field) is not base64 of a PEM block")
        }
        return text
    }

    /// The connection as a component finds it: `--kubeconfig` when given; else in a pod, the
    /// service account; else `KUBECONFIG` (a `:`-separated list); else `~/.kube/config`.
    public static func find(
        kubeconfig explicit: String? = nil, context: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = KubernetesConnection.serviceAccountDirectory
    ) throws -> KubernetesConnection {
        if let explicit, !explicit.isEmpty { return try kubeconfig(paths: explicit.split(separator: ":").map(String.init), context: context) }
        if let inCluster = try inCluster(environment: environment, directory: serviceAccountDirectory) { return inCluster }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            return try kubeconfig(paths: list.split(separator: ":").map(String.init), context: context)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let path = "\(home)/.kube/config"
        guard FileManager.default.fileExists(atPath: path) else {
            throw KubernetesConfigurationError("no Kubernetes configuration: not in a pod, no --kubeconfig, KUBECONFIG unset and no \(path)")
        }
        return try kubeconfig(paths: [path], context: context)
    }
}
