public import NSMAPI
public import NSMCore

/// On an endpoint: answers with a path that ends at this hop (segments after the current
/// index, left over from an earlier path, are dropped).
public struct TrimPathElement: NetworkServiceElement {
    public init() {}

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var connection = try await next.request(request, context: context)
        let keep = Int(connection.path.index) + 1
        if connection.path.pathSegments.count > keep {
            connection.path.pathSegments.removeSubrange(keep...)
        }
        return connection
    }
}
