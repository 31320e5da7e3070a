public import Kubernetes

/// The JSON Patch that injects the client into a pod (or a workload's pod template), in
/// upstream's four additions: init containers, containers, volumes, labels — each array written
/// whole (existing entries first), so the patch applies whether or not the array exists. Beyond
/// upstream, a small in-memory volume both containers share: the init container leaves its
/// connections there and the sidecar adopts them (``ClientStateFile`` in NSMRuntime).
public struct InjectionPatch: Sendable {
    public let settings: InjectionSettings

    public init(settings: InjectionSettings) { self.settings = settings }

    /// Whether `pod` (a pod or template: `metadata` + `spec`) already carries the injection,
    /// as a pod created from an injected template does.
    public static func injected(_ pod: JSONValue) -> Bool {
        (pod[path: ["spec", "initContainers"]]?.array ?? []).contains { $0["name"]?.string == InjectionSettings.initContainerName }
    }

    /// Why the patch cannot be made for `pod` (nil when it can): every member the patch reads or
    /// writes must have the shape the Pod schema gives it, or the patch would fail at the API server
    /// or replace what it should extend.
    public static func shapeProblem(_ pod: JSONValue) -> String? {
        func isAbsent(_ value: JSONValue?) -> Bool { value == nil || value == .null }
        guard pod.fields != nil else { return "the pod is not a JSON object" }
        if !isAbsent(pod["metadata"]) {
            guard let metadata = pod["metadata"]?.fields else { return "metadata is not an object" }
            if !isAbsent(metadata["labels"]), metadata["labels"]?.fields == nil { return "metadata.labels is not an object" }
        }
        guard let spec = pod["spec"]?.fields else { return "spec is missing or not an object" }
        guard let containers = spec["containers"]?.array, !containers.isEmpty else { return "spec.containers is missing or not a non-empty list" }
        for key in ["containers", "initContainers", "volumes"] where !isAbsent(spec[key]) {
            guard let list = spec[key]?.array else { return "spec.\(key) is not a list" }
            if let index = list.firstIndex(where: { $0.fields == nil }) { return "spec.\(key)[\(index)] is not an object" }
        }
        return nil
    }

    /// - Parameters:
    ///   - pod: the pod or template as admitted.
    ///   - location: where it sits in the admitted object.
    ///   - services: the annotation value, passed verbatim.
    ///   - clientName: `NSM_NAME`, identical in the init container and the sidecar.
    public func operations(pod: JSONValue, at location: PodTemplateLocation, services: String, clientName: String) -> [PatchOperation] {
        let spec = pod["spec"]
        let prefix = location.pointer
        var operations: [PatchOperation] = []
        let initContainers = settings.initContainerImages.enumerated().map { index, image in
            container(Self.name(InjectionSettings.initContainerName, index), image: image, arguments: ["client", "--init"], services: services, clientName: clientName)
        }
        let sidecars = settings.containerImages.enumerated().map { index, image in
            container(Self.name(InjectionSettings.sidecarName, index), image: image, arguments: ["client"], services: services, clientName: clientName)
        }
        operations.append(.add(prefix + "/spec/initContainers", .array((spec?["initContainers"]?.array ?? []) + initContainers)))
        operations.append(.add(prefix + "/spec/containers", .array((spec?["containers"]?.array ?? []) + sidecars)))
        var volumes = spec?["volumes"]?.array ?? []
        let names = Set(volumes.compactMap { $0["name"]?.string })
        if !names.contains(InjectionSettings.volumeName) {
            volumes.append(.object([
                "name": .string(InjectionSettings.volumeName),
                "hostPath": .object(["path": .string(settings.socketDirectory), "type": .string("Directory")]),
            ]))
        }
        if !names.contains(InjectionSettings.spireVolumeName) {
            volumes.append(.object([
                "name": .string(InjectionSettings.spireVolumeName),
                "hostPath": .object(["path": .string(settings.spireSocketDirectory), "type": .string("Directory")]),
            ]))
        }
        if !names.contains(InjectionSettings.stateVolumeName) {
            volumes.append(.object(["name": .string(InjectionSettings.stateVolumeName), "emptyDir": .object(["medium": .string("Memory")])]))
        }
        operations.append(.add(prefix + "/spec/volumes", .array(volumes)))
        var added = settings.labels
        added[InjectionSettings.spiffeLabel.key] = InjectionSettings.spiffeLabel.value
        if let metadata = pod["metadata"]?.fields {
            var labels = metadata["labels"]?.fields ?? [:]
            for (key, value) in added { labels[key] = .string(value) }
            operations.append(.add(prefix + "/metadata/labels", .object(labels)))
        } else {
            operations.append(.add(prefix + "/metadata", .object(["labels": .object(added.mapValues { .string($0) })])))
        }
        return operations
    }

    static func name(_ base: String, _ index: Int) -> String { index == 0 ? base : "\(base)-\(index + 1)" }

    func container(_ name: String, image: String, arguments: [String], services: String, clientName: String) -> JSONValue {
        func field(_ name: String, _ path: String) -> JSONValue {
            .object(["name": .string(name), "valueFrom": .object(["fieldRef": .object(["fieldPath": .string(path)])])])
        }
        func plain(_ name: String, _ value: String) -> JSONValue { .object(["name": .string(name), "value": .string(value)]) }
        var environment = settings.environment.map { plain($0.name, $0.value) }
        environment += [
            field("POD_NAME", "metadata.name"), field("NODE_NAME", "spec.nodeName"),
            plain(settings.servicesVariable, services), plain("NSM_NAME", clientName),
            plain("NSM_CLIENT_STATE_FILE", InjectionSettings.stateDirectory + "/connections"),
            plain("SPIFFE_ENDPOINT_SOCKET", "unix://\(settings.spireSocketDirectory)/agent.sock"),
        ]
        return .object([
            "name": .string(name),
            "image": .string(image),
            "imagePullPolicy": .string("IfNotPresent"),
            "args": .array(arguments.map { .string($0) }),
            "env": .array(environment),
            "volumeMounts": .array([
                .object(["name": .string(InjectionSettings.volumeName), "mountPath": .string(settings.socketDirectory), "readOnly": .bool(true)]),
                .object(["name": .string(InjectionSettings.stateVolumeName), "mountPath": .string(InjectionSettings.stateDirectory)]),
                .object(["name": .string(InjectionSettings.spireVolumeName), "mountPath": .string(settings.spireSocketDirectory), "readOnly": .bool(true)]),
            ]),
            "resources": .object([
                "limits": .object(["cpu": .string(settings.limitsCPU), "memory": .string(settings.limitsMemory)]),
                "requests": .object(["cpu": .string(settings.requestsCPU), "memory": .string(settings.requestsMemory)]),
            ]),
            "terminationMessagePolicy": .string("FallbackToLogsOnError"),
        ])
    }
}
