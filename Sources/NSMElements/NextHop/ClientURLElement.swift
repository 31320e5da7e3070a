public import NSMAPI
public import NSMCore

/// Sets the next hop to one fixed URL (a client's manager, upstream's `clienturl`), for
/// Request and Close alike.
public struct ClientURLElement: NetworkServiceElement {
    public let url: NSMURL

    public init(url: NSMURL) { self.url = url }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var context = context
        context.nextHop = url
        return try await next.request(request, context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var context = context
        context.nextHop = url
        try await next.close(connection, context: context)
    }
}
