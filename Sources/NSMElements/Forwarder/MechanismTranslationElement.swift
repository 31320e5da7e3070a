import Foundation
public import IPAddressing
public import NSMAPI
public import NSMCore
import Synchronization

/// The forwarder's data-plane element, placed after ``RoundRobinElement`` and before the
/// connect element:
///
/// - picks the incoming mechanism from the request's preferences (LOCAL/KERNEL from a client,
///   REMOTE/VXLAN from another node's forwarder — then fills in its own tunnel end: `dst_ip`,
///   `dst_port`, a VNI, the tunnel `MTU`);
/// - offers the next hop LOCAL/KERNEL when it is on this node (a `unix` URL) or REMOTE/VXLAN
///   with this node's tunnel address when it is another node's manager;
/// - once the next hop answered, has the data plane plumb incoming ↔ outgoing with the
///   connection context, and answers the previous hop with the incoming mechanism.
public struct MechanismTranslationElement: NetworkServiceElement {
    public let tunnelIP: IPAddress
    public let vxlanPort: UInt16
    public let underlayMTU: UInt32
    let dataPlane: any ForwarderDataPlane
    let endpointURL: @Sendable (Networkservice_NetworkServiceRequest, ChainContext) throws -> NSMURL
    /// VNIs this forwarder chose for tunnels it terminates and has not released: a new one is
    /// drawn outside them (the kernel refuses a second VXLAN with the same VNI and port on one
    /// underlay, and at a thousand tunnels a random draw collides in a few runs out of a hundred).
    let chosenVNIs = VNISet()
    /// The namespace each local endpoint answered with last time (its `inodeURL`), by URL.
    let endpointNamespaces = EndpointNamespaces()

    private enum Plumbed: MetadataKey { typealias Value = Plumbing }

    public init(
        tunnelIP: IPAddress, vxlanPort: UInt16 = Connection_Mechanism.defaultVXLANPort, underlayMTU: UInt32 = 1500,
        dataPlane: any ForwarderDataPlane,
        endpointURL: @escaping @Sendable (Networkservice_NetworkServiceRequest, ChainContext) throws -> NSMURL
    ) {
        self.tunnelIP = tunnelIP
        self.vxlanPort = vxlanPort
        self.underlayMTU = underlayMTU
        self.dataPlane = dataPlane
        self.endpointURL = endpointURL
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var incoming = try selectIncoming(request)
        var outgoingRequest = request
        let url = try endpointURL(request, context)
        let previous = context.metadata[Plumbed.self]
        let claims = VNIClaims(chosenVNIs)
        do {
            // A tunnel this node originates: propose a VNI free here (the next node keeps it when it
            // is free there too, else answers with another; see ``completeTunnel(_:previous:)``).
            var proposedVNI: UInt32?
            if url.isLocal {
                outgoingRequest.mechanismPreferences = [.kernel(interfaceName: Self.endpointInterfaceName(for: request.connection.id))]
            } else {
                var tunnel = Connection_Mechanism.vxlan(sourceIP: tunnelIP, sourcePort: vxlanPort)
                if let kept = previous?.outgoing.vni, previous?.outgoing.isVXLAN == true {
                    tunnel.vni = kept
                } else {
                    let vni = drawVNI(parity: nil)
                    claims.hold(vni)
                    tunnel.vni = vni
                    proposedVNI = vni
                }
                outgoingRequest.mechanismPreferences = [tunnel]
            }
            if incoming.isVXLAN {
                let drawn: UInt32?
                (incoming, drawn) = try completeTunnel(incoming, previous: previous?.incoming)
                if let drawn { claims.hold(drawn) }
            }
            return try await plumb(request, incoming: incoming, outgoingRequest: outgoingRequest, url: url, proposedVNI: proposedVNI,
                                   claims: claims, context: context, next: next)
        } catch {
            claims.releaseAll()
            throw error
        }
    }

    private func plumb(
        _ request: Networkservice_NetworkServiceRequest, incoming: Connection_Mechanism, outgoingRequest: Networkservice_NetworkServiceRequest,
        url: NSMURL, proposedVNI: UInt32?, claims: VNIClaims, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        // Meanwhile the data plane gets ready what it can: the client's side, and the pair itself
        // when the endpoint's namespace is known from its earlier answers.
        let dataPlane = self.dataPlane, incomingSide = incoming
        let expected = url.isLocal ? endpointNamespaces[url].map {
            Connection_Mechanism.kernel(interfaceName: outgoingRequest.mechanismPreferences[0].kernelInterfaceName, namespace: NamespaceURL($0))
        } : nil
        async let preparation = try? dataPlane.prepare(incomingSide, expecting: expected)
        var connection: Connection_Connection
        do {
            connection = try await next.request(outgoingRequest, context: context)
        } catch {
            if let prepared = await preparation { await dataPlane.discard(prepared) }
            throw error
        }
        let prepared = await preparation
        let outgoing = connection.mechanism
        if let proposed = proposedVNI, outgoing.isVXLAN, let answered = outgoing.vni, answered != proposed {
            // The next node had our VNI in use and chose another: it must be free here as well.
            claims.release(proposed)
            guard claims.claim(answered) else {
                try? await next.close(connection, context: context)
                throw NSMError.failedPrecondition("VNI \(answered) chosen by the next node is already used by another tunnel on this node; retry")
            }
        }
        if url.isLocal, let namespace = outgoing.inodeURL { endpointNamespaces[url] = namespace }
        if outgoing.isVXLAN || incoming.isVXLAN {
            let tunnelMTU = (incoming.isVXLAN ? incoming.tunnelMTU : outgoing.tunnelMTU) ?? underlayMTU - Connection_Mechanism.vxlanOverhead(for: tunnelIP.family)
            if connection.context.mtu == 0 || connection.context.mtu > tunnelMTU { connection.context.mtu = tunnelMTU }
        }
        let plumbing = Plumbing(connectionID: connection.id, incoming: incoming, outgoing: outgoing, context: connection.context)
        do {
            try await dataPlane.connect(plumbing, prepared: prepared ?? nil)
        } catch {
            // Leave nothing half-made: the pair made early, and the connection downstream.
            if let prepared = prepared ?? nil { await dataPlane.discard(prepared) }
            try? await next.close(connection, context: context)
            // The data plane's own verdict (e.g. ALREADY_EXISTS for a pod that holds these
            // prefixes on another connection) keeps its code, so the client can act on it.
            let failure = (error as? NSMError) ?? NSMError.internalError("\(error)")
            throw NSMError(failure.code, "data plane could not plumb connection \(connection.id): \(failure.message)")
        }
        context.metadata[Plumbed.self] = plumbing
        connection.mechanism = incoming
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        if let plumbing = context.metadata.remove(Plumbed.self) {
            try? await dataPlane.disconnect(plumbing)
            if plumbing.incoming.isVXLAN, let vni = plumbing.incoming.vni { chosenVNIs.release(vni) }
            if plumbing.outgoing.isVXLAN, let vni = plumbing.outgoing.vni { chosenVNIs.release(vni) }
        } else {
            try? await dataPlane.disconnect(Plumbing(connectionID: connection.id, incoming: connection.mechanism, outgoing: Connection_Mechanism(), context: connection.context))
        }
        try await next.close(connection, context: context)
    }

    func selectIncoming(_ request: Networkservice_NetworkServiceRequest) throws(NSMError) -> Connection_Mechanism {
        for preference in request.mechanismPreferences {
            if preference.cls == MechanismClass.local, preference.isKernel {
                try Self.validateKernel(preference)
                return preference
            }
            if preference.cls == MechanismClass.remote, preference.isVXLAN { return preference }
        }
        // A refresh may carry the mechanism already chosen instead of preferences.
        let current = request.connection.mechanism
        if (current.cls == MechanismClass.local && current.isKernel) || (current.cls == MechanismClass.remote && current.isVXLAN) {
            return current
        }
        let offered = request.mechanismPreferences.map { "\($0.cls)/\($0.type)" }.joined(separator: ", ")
        throw .invalidArgument("unsupported mechanism preferences [\(offered)]; this forwarder accepts LOCAL/KERNEL and REMOTE/VXLAN")
    }

    /// The client's interface name must be one Linux accepts; its namespace a valid URL.
    static func validateKernel(_ mechanism: Connection_Mechanism) throws(NSMError) {
        if let name = mechanism.kernelInterfaceName {
            guard name.utf8.count <= 15 else {
                throw .invalidArgument("interface name \"\(name)\" is \(name.utf8.count) bytes; Linux allows at most 15")
            }
            guard name != ".", name != "..", !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) else {
                throw .invalidArgument("interface name \"\(name)\" is not a valid Linux interface name (no '/', ':' or spaces, not \".\" or \"..\")")
            }
        }
        do { _ = try mechanism.namespace() } catch { throw .invalidArgument(error.description) }
    }

    /// The endpoint side's interface name this forwarder asks for: `nse-` and a 48-bit hash of
    /// the connection id, in base 36 (at most 14 bytes). Asking (rather than letting the endpoint
    /// choose) lets the data plane create the pair while the endpoint is still answering.
    static func endpointInterfaceName(for connectionID: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in connectionID.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return "nse-" + String(hash & 0xFFFF_FFFF_FFFF, radix: 36)
    }

    /// Fills this node's end of a tunnel offered by the previous node's forwarder. The VNI is
    /// kept on refresh; one the other node proposed is kept when it is free here; otherwise a new
    /// one is random, even when src ≤ dst and odd otherwise (as upstream), so the two directions
    /// of a node pair never pick the same VNI. `drawn` is a VNI newly claimed from
    /// ``chosenVNIs`` (to release if the request fails).
    func completeTunnel(
        _ offered: Connection_Mechanism, previous: Connection_Mechanism?
    ) throws(NSMError) -> (mechanism: Connection_Mechanism, drawn: UInt32?) {
        guard let source = offered.vxlanSourceIP else {
            throw .invalidArgument("VXLAN mechanism without a valid src_ip parameter (got \"\(offered.parameters[MechanismParameterKey.srcIP] ?? "")\")")
        }
        var mechanism = offered
        mechanism.vxlanDestinationIP = tunnelIP
        mechanism.vxlanDestinationPort = vxlanPort
        var drawn: UInt32?
        if let kept = previous?.vni {
            // A refresh: this node's device has that VNI (the other node, restarted, may propose another).
            mechanism.vni = kept
        } else if let offeredVNI = mechanism.vni, chosenVNIs.claim(offeredVNI) {
            // Proposed by the other node and free here.
            drawn = offeredVNI
        } else {
            let sourceFirst = (offered.vxlanOriginalSourceIP ?? source).bytes.lexicographicallyPrecedes(tunnelIP.bytes)
                || (offered.vxlanOriginalSourceIP ?? source).bytes == tunnelIP.bytes
            let vni = drawVNI(parity: sourceFirst ? 0 : 1)
            mechanism.vni = vni
            drawn = vni
        }
        mechanism.tunnelMTU = underlayMTU - Connection_Mechanism.vxlanOverhead(for: tunnelIP.family)
        return (mechanism, drawn)
    }
}

extension MechanismTranslationElement {
    /// A random VNI not in ``chosenVNIs`` (claimed), of the given parity when there is one.
    func drawVNI(parity: UInt32?) -> UInt32 {
        var vni: UInt32 = 0
        repeat {
            vni = UInt32.random(in: 2...(1 << 24) - 1)
            if let parity, vni % 2 != parity { vni -= 1 }
            vni = max(vni, 2)
        } while !chosenVNIs.claim(vni)
        return vni
    }
}

/// Local endpoints' namespaces as they last answered, by URL.
final class EndpointNamespaces: Sendable {
    private let byURL = Mutex<[NSMURL: String]>([:])

    subscript(url: NSMURL) -> String? {
        get { byURL.withLock { $0[url] } }
        set { byURL.withLock { $0[url] = newValue } }
    }
}

/// The VNIs one request claimed in a ``VNISet``, given back together if the request fails.
/// Used by that request's task only.
final class VNIClaims {
    private let set: VNISet
    private var held: [UInt32] = []

    init(_ set: VNISet) { self.set = set }

    /// Records a VNI already claimed in the set (drawn by ``MechanismTranslationElement/drawVNI(parity:)``).
    func hold(_ vni: UInt32) { held.append(vni) }

    /// Claims `vni` if nobody has it.
    func claim(_ vni: UInt32) -> Bool {
        guard set.claim(vni) else { return false }
        held.append(vni)
        return true
    }

    func release(_ vni: UInt32) {
        held.removeAll { $0 == vni }
        set.release(vni)
    }

    func releaseAll() {
        for vni in held { set.release(vni) }
        held = []
    }
}

/// VNIs in use by one forwarder's tunnels (claimed when drawn, released when the tunnel goes).
final class VNISet: Sendable {
    private let used = Mutex<Set<UInt32>>([])

    /// Takes `vni` if nobody has it.
    func claim(_ vni: UInt32) -> Bool { used.withLock { $0.insert(vni).inserted } }

    func release(_ vni: UInt32) { _ = used.withLock { $0.remove(vni) } }

    var count: Int { used.withLock { $0.count } }
}
