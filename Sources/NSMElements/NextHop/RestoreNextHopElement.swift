import Logging
public import NSMAPI
public import NSMCore

/// On Close, when no selection element knew the next hop (this hop restarted since the
/// Request and kept no state), restores it from the connection's stored path with `resolver`.
/// Requests pass through: selection elements set their next hop.
public struct RestoreNextHopElement: NetworkServiceElement {
    let resolver: any NextHopResolver

    public init(_ resolver: any NextHopResolver) { self.resolver = resolver }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        try await next.request(request, context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        var context = context
        if context.nextHop == nil {
            do { context.nextHop = try await resolver.nextHop(for: connection) } catch {
                context.logger.info("close: cannot find the next hop", metadata: ["error": "\(error)"])
            }
        }
        try await next.close(connection, context: context)
    }
}
