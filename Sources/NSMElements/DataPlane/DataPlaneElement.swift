import Logging
public import NSMAPI
public import NSMCore

/// Has the forwarder's data plane plumb each connection: while the next hop is being asked, the
/// data plane prepares the incoming side (and the pair itself when a local endpoint's namespace
/// is known from its earlier answers); once the next hop answered, it connects incoming ↔
/// outgoing (``TranslatedMechanisms``) with the connection's context. A connection it cannot
/// plumb is closed downstream, leaving nothing half-made; Close unplumbs.
public struct DataPlaneElement: NetworkServiceElement {
    let dataPlane: any ForwarderDataPlane
    /// The namespace each local endpoint answered with last time (its `inodeURL`), by URL.
    let endpointNamespaces = EndpointNamespaces()

    private enum Plumbed: MetadataKey { typealias Value = Plumbing }

    public init(_ dataPlane: any ForwarderDataPlane) { self.dataPlane = dataPlane }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let dataPlane = self.dataPlane, incoming = request.connection.mechanism
        let local = context.nextHop.flatMap { $0.isLocal ? $0 : nil }
        let expected = local.flatMap { url in
            endpointNamespaces[url].map { namespace in
                Connection_Mechanism.kernel(interfaceName: request.mechanismPreferences.first?.kernelInterfaceName, namespace: NamespaceURL(namespace))
            }
        }
        async let preparation = try? dataPlane.prepare(incoming, expecting: expected)
        var connection: Connection_Connection
        do {
            connection = try await next.request(request, context: context)
        } catch {
            if let prepared = await preparation { await dataPlane.discard(prepared) }
            throw error
        }
        let prepared = await preparation ?? nil
        guard let sides = context.metadata[TranslatedMechanisms.self] else {
            if let prepared { await dataPlane.discard(prepared) }
            try? await next.close(connection, context: context)
            throw NSMError.internalError("connection \(connection.id): no mechanisms were translated (is mechanism translation after the data plane?)")
        }
        if let local, let namespace = sides.outgoing.inodeURL { endpointNamespaces[local] = namespace }
        let plumbing = Plumbing(connectionID: connection.id, incoming: sides.incoming, outgoing: sides.outgoing, context: connection.context)
        if let previous = context.metadata[Plumbed.self], previous.outgoing.isKernel,
           previous.outgoing.inodeURL != plumbing.outgoing.inodeURL || previous.outgoing.kernelInterfaceName != plumbing.outgoing.kernelInterfaceName {
            // Moved to another endpoint (a reselect keeps the connection id, and its tunnel's
            // VNI): the old endpoint's side goes first, or it would hold the VNI the new one needs.
            context.logger.debug("moved to another endpoint: unplumbing the old side", metadata: [
                "nsm.connection.id": "\(connection.id)", "was": "\(previous.outgoing.parameters)", "now": "\(plumbing.outgoing.parameters)",
            ])
            try? await dataPlane.disconnect(Plumbing(connectionID: previous.connectionID, incoming: Connection_Mechanism(), outgoing: previous.outgoing, context: previous.context))
        }
        do {
            try await dataPlane.connect(plumbing, prepared: prepared)
        } catch {
            // Leave nothing half-made: the pair made early, and the connection downstream.
            if let prepared { await dataPlane.discard(prepared) }
            try? await next.close(connection, context: context)
            // The data plane's own verdict (e.g. ALREADY_EXISTS for a pod that holds these
            // prefixes on another connection) keeps its code, so the client can act on it.
            let failure = (error as? NSMError) ?? NSMError.internalError("\(error)")
            throw NSMError(failure.code, "data plane could not plumb connection \(connection.id): \(failure.message)")
        }
        context.metadata[Plumbed.self] = plumbing
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        // After a restart nothing is remembered: unplumb what the connection itself names.
        let plumbing = context.metadata.remove(Plumbed.self)
            ?? Plumbing(connectionID: connection.id, incoming: connection.mechanism, outgoing: Connection_Mechanism(), context: connection.context)
        try? await dataPlane.disconnect(plumbing)
        try await next.close(connection, context: context)
    }
}
