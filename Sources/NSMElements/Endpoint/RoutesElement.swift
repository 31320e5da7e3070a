public import IPAddressing
public import NSMAPI
public import NSMCore

/// On an endpoint: adds routes the client should send through the endpoint (`src_routes`).
public struct RoutesElement: NetworkServiceElement {
    public let routes: [IPPrefix]

    public init(routes: [IPPrefix]) { self.routes = routes }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        for route in routes { request.connection.context.ipContext.addSourceRoute(route.network) }
        return try await next.request(request, context: context)
    }
}
