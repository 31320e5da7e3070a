public import IPAddressing
public import NSMAPI
public import NSMCore

/// On the manager: adds the cluster's excluded prefixes (pod and service CIDRs) to every
/// request's `ip_context.excluded_prefixes`, so no endpoint hands out an address or route that
/// collides with the cluster.
public struct ExcludedPrefixesElement: NetworkServiceElement {
    let source: @Sendable () -> [IPPrefix]

    public init(source: @escaping @Sendable () -> [IPPrefix]) { self.source = source }

    public init(file: ExcludedPrefixesFile) { self.source = { file.prefixes } }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        for prefix in source() { request.connection.context.ipContext.addExcluded(prefix) }
        return try await next.request(request, context: context)
    }
}
