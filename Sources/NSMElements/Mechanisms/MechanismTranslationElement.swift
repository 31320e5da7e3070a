public import NSMAPI
public import NSMCore

/// Swaps the connection's mechanism between the hop's two sides, as upstream's
/// `mechanismtranslation`: the next hop sees its own (outgoing) mechanism, the previous hop gets
/// the incoming one back; both are kept in the connection's metadata (``TranslatedMechanisms``)
/// for the data plane, VNI and MTU elements above.
public struct MechanismTranslationElement: NetworkServiceElement {
    public init() {}

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let incoming = request.connection.mechanism
        var outgoingRequest = request
        outgoingRequest.connection.mechanism = context.metadata[TranslatedMechanisms.self]?.outgoing ?? Connection_Mechanism()
        var connection = try await next.request(outgoingRequest, context: context)
        context.metadata[TranslatedMechanisms.self] = TranslatedMechanisms(incoming: incoming, outgoing: connection.mechanism)
        connection.mechanism = incoming
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var connection = connection
        if let known = context.metadata.remove(TranslatedMechanisms.self) { connection.mechanism = known.outgoing }
        try await next.close(connection, context: context)
    }
}
