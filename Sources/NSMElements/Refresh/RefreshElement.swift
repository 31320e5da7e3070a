import SwiftProtobuf
import Foundation
public import NSMAPI
public import NSMCore

/// On a client: after each successful Request, schedules the next refresh before the path
/// expires — at 0.2 × the time to the earliest expiry when the path has more than one hop
/// (upstream's scale for a client), a third of it otherwise, at least 100 ms — and cancels it on Close.
public struct RefreshElement: NetworkServiceElement {
    let scheduler: RefreshScheduler

    public init(scheduler: RefreshScheduler) { self.scheduler = scheduler }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let connection = try await next.request(request, context: context)
        scheduler.arm(connection.id, after: Self.interval(connection))
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        scheduler.disarm(connection.id)
        try await next.close(connection, context: context)
    }

    static func interval(_ connection: Connection_Connection, now: Date = Date()) -> Duration {
        let expiries = connection.path.pathSegments.filter(\.hasExpires).map { $0.expires.date.timeIntervalSince(now) }
        guard let earliest = expiries.min() else { return .seconds(60) }
        let seconds = max(0.1, earliest * (connection.path.pathSegments.count > 1 ? 0.2 : 1.0 / 3.0))
        return .milliseconds(Int(seconds * 1000))
    }
}
