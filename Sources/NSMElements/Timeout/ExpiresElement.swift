import Foundation
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// Stamps this hop's path segment with an expiry (now + lifetime), as upstream's token
/// element does: the next hop closes the connection when it passes without a refresh, and
/// the client refreshes at a fraction of the earliest expiry. Place right after
/// ``UpdatePathElement``. (Tokens themselves are left empty: no SPIFFE here.)
public struct ExpiresElement: NetworkServiceElement {
    public let lifetime: Duration
    let now: @Sendable () -> Date

    public init(lifetime: Duration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.now = now
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        let index = Int(request.connection.path.index)
        if request.connection.path.pathSegments.indices.contains(index) {
            let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
            request.connection.path.pathSegments[index].expires = Google_Protobuf_Timestamp(date: now().addingTimeInterval(seconds))
        }
        return try await next.request(request, context: context)
    }
}
