public import IPAddressing
public import NSMAPI
public import NSMCore

/// Keeps a connection that crosses a VXLAN tunnel within the tunnel's MTU: this node's end of
/// an incoming tunnel gets `MTU` = underlay MTU − VXLAN overhead (upstream's 54 bytes over IPv4,
/// 74 over IPv6: ``Connection_Mechanism/vxlanOverhead(for:)``), and the answered
/// connection's context MTU is lowered to the tunnel's when it is larger or unset.
public struct TunnelMTUElement: NetworkServiceElement {
    /// The MTU of this node's tunnel end.
    public let tunnelMTU: UInt32

    /// - Parameter family: the underlay's address family (of the node's tunnel address).
    public init(underlayMTU: UInt32, family: IPFamily) {
        tunnelMTU = underlayMTU - Connection_Mechanism.vxlanOverhead(for: family)
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        if request.connection.mechanism.isVXLAN { request.connection.mechanism.tunnelMTU = tunnelMTU }
        var connection = try await next.request(request, context: context)
        guard let sides = context.metadata[TranslatedMechanisms.self], sides.incoming.isVXLAN || sides.outgoing.isVXLAN else { return connection }
        let limit = (sides.incoming.isVXLAN ? sides.incoming.tunnelMTU : sides.outgoing.tunnelMTU) ?? tunnelMTU
        if connection.context.mtu == 0 || connection.context.mtu > limit { connection.context.mtu = limit }
        return connection
    }
}
