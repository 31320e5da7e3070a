public import IPAddressing
public import NSMAPI
public import NSMCore

/// The forwarder's side toward the next hop: offers LOCAL/KERNEL when the next hop is on this
/// node (a `unix` URL) — naming the endpoint's interface itself, so the data plane can make the
/// pair while the endpoint is still answering — and REMOTE/VXLAN from this node's tunnel address
/// when it is another node's manager.
public struct OutgoingMechanismElement: NetworkServiceElement {
    public let tunnelIP: IPAddress
    public let vxlanPort: UInt16

    public init(tunnelIP: IPAddress, vxlanPort: UInt16 = Connection_Mechanism.defaultVXLANPort) {
        self.tunnelIP = tunnelIP
        self.vxlanPort = vxlanPort
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        guard let url = context.nextHop else { throw NSMError.internalError("no next hop chosen for connection \(request.connection.id)") }
        var request = request
        request.mechanismPreferences = url.isLocal
            ? [.kernel(interfaceName: Self.endpointInterfaceName(for: request.connection.id))]
            : [.vxlan(sourceIP: tunnelIP, sourcePort: vxlanPort)]
        return try await next.request(request, context: context)
    }

    /// `nse-` and a 48-bit hash of the connection id, in base 36 (at most 14 bytes).
    static func endpointInterfaceName(for connectionID: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in connectionID.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return "nse-" + String(hash & 0xFFFF_FFFF_FFFF, radix: 36)
    }
}
