public import IPAddressing
public import NSMAPI
public import NSMCore

/// Chooses the VNIs of the tunnels a forwarder terminates, never one it already uses (the kernel
/// refuses a second VXLAN with the same VNI and port on one underlay, and at a thousand tunnels a
/// random draw collides in a few runs out of a hundred):
///
/// - a tunnel it originates (outgoing VXLAN): proposes a VNI free here; when the next node
///   answers with another (ours was taken there), that one must be free here too;
/// - a tunnel it ends (incoming VXLAN): keeps the VNI the other node proposed when it is free
///   here, else draws one — even when the source sorts first and odd otherwise (as upstream), so
///   the two directions of a node pair never pick the same.
///
/// A refresh keeps the connection's VNIs; they are released on Close or when the request fails.
public struct VNIElement: NetworkServiceElement {
    public let tunnelIP: IPAddress
    let vnis = VNISet()

    private struct Held: MetadataKey, Sendable {
        typealias Value = Held
        var incoming: UInt32?
        var outgoing: UInt32?
    }

    public init(tunnelIP: IPAddress) { self.tunnelIP = tunnelIP }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        let previous = context.metadata[Held.self]
        let claims = VNIClaims(vnis)
        do {
            if request.connection.mechanism.isVXLAN {
                request.connection.mechanism.vni = incomingVNI(request.connection.mechanism, kept: previous?.incoming, claims: claims)
            }
            var proposed: UInt32?
            if var outgoing = request.mechanismPreferences.first, outgoing.isVXLAN {
                if let kept = previous?.outgoing {
                    outgoing.vni = kept
                } else {
                    proposed = claims.draw(parity: nil)
                    outgoing.vni = proposed
                }
                request.mechanismPreferences[0] = outgoing
            }
            let connection = try await next.request(request, context: context)
            let answered = context.metadata[TranslatedMechanisms.self]?.outgoing
            if let proposed, let answered, answered.isVXLAN, let chosen = answered.vni, chosen != proposed {
                claims.release(proposed)
                guard claims.claim(chosen) else {
                    try? await next.close(connection, context: context)
                    throw NSMError.failedPrecondition("VNI \(chosen) chosen by the next node is already used by another tunnel on this node; retry")
                }
            }
            context.metadata[Held.self] = Held(
                incoming: request.connection.mechanism.isVXLAN ? request.connection.mechanism.vni : nil,
                outgoing: answered.flatMap { $0.isVXLAN ? $0.vni : nil })
            return connection
        } catch {
            claims.releaseAll()
            throw error
        }
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        if let held = context.metadata.remove(Held.self) {
            for vni in [held.incoming, held.outgoing].compactMap({ $0 }) { vnis.release(vni) }
        }
        try await next.close(connection, context: context)
    }

    /// The VNI of a tunnel offered by the previous node: kept on refresh (this node's device has
    /// it), the proposed one when free here, else a new one of this direction's parity.
    func incomingVNI(_ offered: Connection_Mechanism, kept: UInt32?, claims: VNIClaims) -> UInt32 {
        if let kept { return kept }
        if let proposed = offered.vni, claims.claim(proposed) { return proposed }
        let source = offered.vxlanOriginalSourceIP ?? offered.vxlanSourceIP ?? tunnelIP
        let sourceFirst = source.bytes.lexicographicallyPrecedes(tunnelIP.bytes) || source.bytes == tunnelIP.bytes
        return claims.draw(parity: sourceFirst ? 0 : 1)
    }
}
