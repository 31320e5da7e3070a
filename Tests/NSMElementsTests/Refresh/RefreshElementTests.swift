import Foundation
import NSMAPI
import NSMCore
@testable import NSMElements
import SwiftProtobuf
import Synchronization
import Testing

@Suite("RefreshElement and RefreshScheduler")
struct RefreshElementTests {
    func connection(id: String, segments: Int, expiresIn seconds: Double, now: Date) -> Connection_Connection {
        var connection = request(id: id).connection
        connection.path.pathSegments = (0..<segments).map { _ in
            var segment = Connection_PathSegment()
            segment.expires = Google_Protobuf_Timestamp(date: now.addingTimeInterval(seconds))
            return segment
        }
        return connection
    }

    @Test("refresh at 0.2 of the time to expiry across hops, a third of it for one hop, never under 100 ms, 60 s without expiry")
    func interval() {
        let now = Date()
        #expect(RefreshElement.interval(connection(id: "a", segments: 3, expiresIn: 100, now: now), now: now) == .seconds(20))
        #expect(RefreshElement.interval(connection(id: "b", segments: 1, expiresIn: 90, now: now), now: now) == .seconds(30))
        #expect(RefreshElement.interval(connection(id: "c", segments: 2, expiresIn: 0.1, now: now), now: now) == .milliseconds(100))
        #expect(RefreshElement.interval(request(id: "d").connection, now: now) == .seconds(60))
    }

    @Test("a connection is refreshed when due, once per arming; a closed one is not")
    func schedules() async throws {
        let scheduler = RefreshScheduler()
        let refreshed = Mutex<[String]>([])
        scheduler.attach { id in refreshed.withLock { $0.append(id) } }
        let chain = NetworkServiceChain([RefreshElement(scheduler: scheduler)])
        try await withRunning([scheduler]) {
            let now = Date()
            _ = try await chain.request(.init(connection: connection(id: "due", segments: 1, expiresIn: 0.3, now: now), preferences: []), context: ChainContext())
            let closed = try await chain.request(.init(connection: connection(id: "closed", segments: 1, expiresIn: 0.3, now: now), preferences: []), context: ChainContext())
            try await chain.close(closed, context: ChainContext())
            // Armed twice before it is due: one refresh.
            _ = try await chain.request(.init(connection: connection(id: "twice", segments: 1, expiresIn: 0.3, now: now), preferences: []), context: ChainContext())
            _ = try await chain.request(.init(connection: connection(id: "twice", segments: 1, expiresIn: 0.3, now: now), preferences: []), context: ChainContext())
            try await eventually("the due refreshes") { refreshed.withLock { Set($0) } == ["due", "twice"] }
        }
        #expect(refreshed.withLock { $0.sorted() } == ["due", "twice"])
    }
}
