public import NSMAPI
public import NSMCore

/// On an endpoint: accepts a LOCAL/KERNEL mechanism preference and answers with the
/// endpoint's side of it — the interface name (the requested one, or one generated from the
/// service) and the endpoint's own network namespace.
public struct KernelMechanismElement: NetworkServiceElement {
    public let namespaceURL: String

    public init(namespaceURL: String) { self.namespaceURL = namespaceURL }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        guard let preference = request.mechanismPreferences.first(where: { $0.isKernel }) else {
            let offered = request.mechanismPreferences.map { "\($0.cls)/\($0.type)" }.joined(separator: ", ")
            throw NSMError.invalidArgument("unsupported mechanism preferences [\(offered)]; this endpoint accepts LOCAL/KERNEL")
        }
        var name = preference.kernelInterfaceName ?? ""
        if name.isEmpty { name = Self.interfaceName(for: request.connection) }
        if let problem = KernelInterfaceName.problem(with: name) { throw NSMError.invalidArgument(problem) }
        request.connection.mechanism = .kernel(interfaceName: name, namespace: NamespaceURL(namespaceURL))
        return try await next.request(request, context: context)
    }

    /// A deterministic name for the endpoint side: `nse-` and a short hash of the connection id.
    static func interfaceName(for connection: Connection_Connection) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in connection.id.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "nse-" + String(hash, radix: 36)
    }
}
