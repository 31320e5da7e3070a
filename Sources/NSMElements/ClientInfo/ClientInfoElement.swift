public import NSMAPI
public import NSMCore

/// Adds labels describing where the request comes from (`nodeName`, `podName`, `clusterName`)
/// unless the request already carries them.
public struct ClientInfoElement: NetworkServiceElement {
    public let labels: [String: String]

    public init(labels: [String: String]) { self.labels = labels.filter { !$0.value.isEmpty } }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        for (key, value) in labels where request.connection.labels[key] == nil {
            request.connection.labels[key] = value
        }
        return try await next.request(request, context: context)
    }
}
