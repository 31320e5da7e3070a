/// The kernel-interface mechanism classes a pod can ask for in its annotation.
public enum AnnotationMechanism: String, Sendable, Hashable, CaseIterable, Codable {
    /// A kernel network interface in the pod's network namespace (`kernel://`).
    case kernel

    /// The mechanism type as it travels on the NSM wire (`KERNEL`).
    public var wireType: String { rawValue.uppercased() }

    /// The mechanism class on the wire: every annotation mechanism is local to the pod's node.
    public var wireClass: String { "LOCAL" }
}

/// One network service a pod asks for: one item of the `networkservicemesh.io` annotation.
public struct RequestedService: Sendable, Hashable, Codable {
    /// How the service is attached to the pod.
    public var mechanism: AnnotationMechanism
    /// The network service name, without any domain (`my-networkservice-1`).
    public var service: String
    /// The interdomain part after `@`, if any (`my.cluster1`).
    public var domain: String?
    /// The kernel interface name in the pod; generated when the item did not give one.
    public var interfaceName: String
    /// Whether ``interfaceName`` was generated rather than written in the annotation.
    public var interfaceNameGenerated: Bool
    /// Labels from the query string, URL-decoded; repeated keys joined with `,`.
    public var labels: [String: String]

    public init(
        mechanism: AnnotationMechanism = .kernel, service: String, domain: String? = nil,
        interfaceName: String, interfaceNameGenerated: Bool = false, labels: [String: String] = [:]
    ) {
        self.mechanism = mechanism
        self.service = service
        self.domain = domain
        self.interfaceName = interfaceName
        self.interfaceNameGenerated = interfaceNameGenerated
        self.labels = labels
    }

    /// The name sent as `Connection.network_service`: `service` or `service@domain`.
    public var networkService: String {
        if let domain { return "\(service)@\(domain)" }
        return service
    }
}
