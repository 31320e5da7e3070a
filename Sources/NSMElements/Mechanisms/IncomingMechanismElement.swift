public import IPAddressing
public import NSMAPI
public import NSMCore

/// The forwarder's side toward the previous hop: picks the incoming mechanism from the
/// request's preferences — LOCAL/KERNEL from a client (its interface name and namespace
/// checked), REMOTE/VXLAN from another node's forwarder (this node's tunnel end filled in:
/// `dst_ip`, `dst_port`) — or, on a refresh that carries no preferences, the mechanism already
/// chosen; and sets it as `request.connection.mechanism` for the elements after it.
public struct IncomingMechanismElement: NetworkServiceElement {
    public let tunnelIP: IPAddress
    public let vxlanPort: UInt16

    public init(tunnelIP: IPAddress, vxlanPort: UInt16 = Connection_Mechanism.defaultVXLANPort) {
        self.tunnelIP = tunnelIP
        self.vxlanPort = vxlanPort
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        var incoming = try Self.select(request)
        if incoming.isVXLAN {
            guard incoming.vxlanSourceIP != nil else {
                throw NSMError.invalidArgument(
                    "VXLAN mechanism without a valid src_ip parameter (got \"\(incoming.parameters[MechanismParameterKey.srcIP] ?? "")\")")
            }
            incoming.vxlanDestinationIP = tunnelIP
            incoming.vxlanDestinationPort = vxlanPort
        }
        request.connection.mechanism = incoming
        return try await next.request(request, context: context)
    }

    static func select(_ request: Networkservice_NetworkServiceRequest) throws(NSMError) -> Connection_Mechanism {
        for preference in request.mechanismPreferences {
            if preference.cls == MechanismClass.local, preference.isKernel {
                try validateKernel(preference)
                return preference
            }
            if preference.cls == MechanismClass.remote, preference.isVXLAN { return preference }
        }
        let current = request.connection.mechanism
        if (current.cls == MechanismClass.local && current.isKernel) || (current.cls == MechanismClass.remote && current.isVXLAN) {
            return current
        }
        let offered = request.mechanismPreferences.map { "\($0.cls)/\($0.type)" }.joined(separator: ", ")
        throw .invalidArgument("unsupported mechanism preferences [\(offered)]; this forwarder accepts LOCAL/KERNEL and REMOTE/VXLAN")
    }

    /// The client's interface name must be one Linux accepts; its namespace a valid URL.
    static func validateKernel(_ mechanism: Connection_Mechanism) throws(NSMError) {
        if let name = mechanism.kernelInterfaceName, let problem = KernelInterfaceName.problem(with: name) { throw .invalidArgument(problem) }
        do { _ = try mechanism.namespace() } catch { throw .invalidArgument(error.description) }
    }
}
