public import NSMAPI
public import NSMCore

/// Gives each connection id its ``ConnectionMetadata`` at this hop (in `context.metadata`) and
/// drops it on Close, or when the first Request for that id fails.
public struct MetadataElement: NetworkServiceElement {
    public let store: MetadataStore

    public init(store: MetadataStore = MetadataStore()) { self.store = store }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let id = request.connection.id
        let isNew = store.existing(for: id) == nil
        var context = context
        context.metadata = store.metadata(for: id)
        do {
            return try await next.request(request, context: context)
        } catch {
            if isNew { store.remove(id) }
            throw error
        }
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var context = context
        context.metadata = store.metadata(for: connection.id)
        defer { store.remove(connection.id) }
        try await next.close(connection, context: context)
    }
}
