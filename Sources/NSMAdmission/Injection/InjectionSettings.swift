import Foundation

/// What the webhook injects, from upstream's environment names (see `nsm webhook --help`).
public struct InjectionSettings: Sendable {
    /// The annotation that asks for network services (`NSM_ANNOTATION`).
    public var annotation = "networkservicemesh.io"
    /// One sidecar per image (`NSM_CONTAINER_IMAGES`), running `nsm client`.
    public var containerImages = ["localhost/nsm:latest"]
    /// One init container per image (`NSM_INIT_CONTAINER_IMAGES`), running `nsm client --init`.
    public var initContainerImages = ["localhost/nsm:latest"]
    /// Extra environment for the injected containers, in order (`NSM_ENVS`, `K=V,K2=V2`).
    public var environment: [(name: String, value: String)] = []
    /// Labels added to the pod (`NSM_LABELS`, `k:v,k2:v2` as upstream's envconfig, or `k=v`).
    public var labels: [String: String] = [:]
    /// The variable that carries the annotation to the client (`NSM_NSURL_ENV_NAME`).
    public var servicesVariable = "NSM_NETWORK_SERVICES"
    /// `NSM_SIDECAR_LIMITS_CPU`, `…_MEMORY`, `NSM_SIDECAR_REQUESTS_CPU`, `…_MEMORY`.
    public var limitsCPU = "200m", limitsMemory = "80Mi", requestsCPU = "100m", requestsMemory = "40Mi"
    /// The node's directory holding the manager's socket, mounted read-only at the same path.
    public var socketDirectory = "/var/lib/networkservicemesh"
    /// The SPIRE agent's socket directory on the node (`NSM_SPIRE_SOCKET_DIRECTORY`): mounted into
    /// the injected containers, whose `SPIFFE_ENDPOINT_SOCKET` is its `agent.sock`; the pod is
    /// labelled `spiffe.io/spiffe-id: "true"` so SPIRE's controller gives it an identity.
    public var spireSocketDirectory = "/run/spire/sockets"
    public static let spireVolumeName = "spire-agent-socket"
    public static let spiffeLabel = (key: "spiffe.io/spiffe-id", value: "true")

    public static let initContainerName = "nsm-init"
    public static let sidecarName = "nsm-client"
    public static let volumeName = "nsm-socket"
    /// The emptyDir both injected containers share, and where they mount it.
    public static let stateVolumeName = "nsm-client-state"
    public static let stateDirectory = "/var/run/nsm-client"

    public init() {}

    /// Reads the settings from `environment`, refusing malformed values with the variable's name
    /// and the accepted form.
    public init(environment variables: [String: String]) throws(InjectionSettingsError) {
        func value(_ name: String) -> String? { variables[name].flatMap { $0.isEmpty ? nil : $0 } }
        func list(_ name: String) -> [String]? {
            value(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        if let annotation = value("NSM_ANNOTATION") { self.annotation = annotation }
        if let images = list("NSM_CONTAINER_IMAGES") { containerImages = images }
        if let images = list("NSM_INIT_CONTAINER_IMAGES") { initContainerImages = images }
        for item in list("NSM_ENVS") ?? [] {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw InjectionSettingsError(variable: "NSM_ENVS", value: item, accepted: "NAME=value items separated by commas")
            }
            environment.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
        }
        for item in list("NSM_LABELS") ?? [] {
            guard let separator = item.firstIndex(where: { $0 == ":" || $0 == "=" }), separator != item.startIndex else {
                throw InjectionSettingsError(variable: "NSM_LABELS", value: item, accepted: "key:value (or key=value) items separated by commas")
            }
            labels[String(item[..<separator])] = String(item[item.index(after: separator)...])
        }
        if let name = value("NSM_NSURL_ENV_NAME") { servicesVariable = name }
        if let cpu = value("NSM_SIDECAR_LIMITS_CPU") { limitsCPU = cpu }
        if let memory = value("NSM_SIDECAR_LIMITS_MEMORY") { limitsMemory = memory }
        if let cpu = value("NSM_SIDECAR_REQUESTS_CPU") { requestsCPU = cpu }
        if let memory = value("NSM_SIDECAR_REQUESTS_MEMORY") { requestsMemory = memory }
        if let directory = value("NSM_SOCKET_DIRECTORY") { socketDirectory = directory }
        if let directory = value("NSM_SPIRE_SOCKET_DIRECTORY") { spireSocketDirectory = directory }
        if containerImages.isEmpty || initContainerImages.isEmpty {
            throw InjectionSettingsError(variable: containerImages.isEmpty ? "NSM_CONTAINER_IMAGES" : "NSM_INIT_CONTAINER_IMAGES", value: "",
                                         accepted: "one or more images separated by commas")
        }
    }

    /// Every variable the settings read.
    public static let variables = [
        "NSM_ANNOTATION", "NSM_CONTAINER_IMAGES", "NSM_INIT_CONTAINER_IMAGES", "NSM_ENVS", "NSM_LABELS", "NSM_NSURL_ENV_NAME",
        "NSM_SIDECAR_LIMITS_CPU", "NSM_SIDECAR_LIMITS_MEMORY", "NSM_SIDECAR_REQUESTS_CPU", "NSM_SIDECAR_REQUESTS_MEMORY", "NSM_SOCKET_DIRECTORY",
        "NSM_SPIRE_SOCKET_DIRECTORY",
    ]
}

public struct InjectionSettingsError: Error, CustomStringConvertible, Sendable {
    public var variable: String
    public var value: String
    public var accepted: String
    public var description: String { "\(variable): \"\(value)\" is not accepted; expected \(accepted)" }
}
