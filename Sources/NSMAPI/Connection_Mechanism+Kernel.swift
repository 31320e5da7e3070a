extension Connection_Mechanism {
    /// A LOCAL/KERNEL mechanism: a kernel interface named `interfaceName` in the namespace `namespace`.
    public static func kernel(interfaceName: String? = nil, namespace: NamespaceURL? = nil) -> Self {
        var mechanism = Connection_Mechanism()
        mechanism.cls = MechanismClass.local
        mechanism.type = MechanismType.kernel
        if let interfaceName { mechanism.parameters[MechanismParameterKey.interfaceName] = interfaceName }
        if let namespace { mechanism.parameters[MechanismParameterKey.inodeURL] = namespace.description }
        return mechanism
    }

    /// Whether this is a KERNEL mechanism (of either class).
    public var isKernel: Bool { type == MechanismType.kernel }

    /// KERNEL `name`: the interface name, `nil` when absent or empty.
    public var kernelInterfaceName: String? {
        get { parameters[MechanismParameterKey.interfaceName].flatMap { $0.isEmpty ? nil : $0 } }
        set { parameters[MechanismParameterKey.interfaceName] = newValue }
    }

    /// KERNEL `inodeURL` as text, `nil` when absent or empty.
    public var inodeURL: String? {
        get { parameters[MechanismParameterKey.inodeURL].flatMap { $0.isEmpty ? nil : $0 } }
        set { parameters[MechanismParameterKey.inodeURL] = newValue }
    }

    /// KERNEL `inodeURL` parsed; throws when present but malformed.
    public func namespace() throws(NSMAPIError) -> NamespaceURL? {
        guard let text = inodeURL else { return nil }
        guard let url = NamespaceURL(text) else {
            throw NSMAPIError(
                field: "mechanism.parameters[inodeURL]", value: text,
                expected: "inode://<device>/<inode> (decimal) or file:///<absolute path>")
        }
        return url
    }
}
