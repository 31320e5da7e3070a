import SwiftProtobuf
public import NSMAPI
public import NSMCore

/// Arms a ``TimeoutScheduler`` with the previous segment's expiry after each successful
/// Request and disarms it on Close.
public struct TimeoutElement: NetworkServiceElement {
    let scheduler: TimeoutScheduler

    public init(scheduler: TimeoutScheduler) { self.scheduler = scheduler }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let connection = try await next.request(request, context: context)
        if let previous = request.connection.previousPathSegment, previous.hasExpires {
            var stored = connection
            stored.path.index = request.connection.path.index
            scheduler.arm(stored, deadline: previous.expires.date)
        }
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        scheduler.disarm(connection.id)
        try await next.close(connection, context: context)
    }
}
