import Logging
import Foundation
import NSMAPI
import NSMCore
import NSMElements
import SwiftProtobuf
import Synchronization
import Testing

@Suite("TimeoutElement and TimeoutScheduler")
struct TimeoutElementTests {
    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_000_000))
        func advance(_ seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    /// A request at index 1 whose previous segment (the client's) expires `seconds` after `clock`.
    func request(id: String, expiresIn seconds: Double, clock: Clock) -> Networkservice_NetworkServiceRequest {
        var previous = Connection_PathSegment()
        previous.name = "client"
        previous.expires = Google_Protobuf_Timestamp(date: clock.now.withLock { $0 }.addingTimeInterval(seconds))
        var own = Connection_PathSegment()
        own.name = "nsmgr"
        return NSMElementsTests.request(id: id, path: [previous, own], index: 1)
    }

    @Test("a connection its previous hop stops refreshing is closed through the hop's chain once its expiry passes; a refreshed one is not")
    func expiry() async throws {
        let clock = Clock()
        let scheduler = TimeoutScheduler { clock.now.withLock { $0 } }
        let counter = CountingElement()
        let chain = NetworkServiceChain([TimeoutElement(scheduler: scheduler), counter])
        scheduler.attach(chain: chain, logger: .init(label: "test"))
        _ = try await chain.request(request(id: "stale", expiresIn: 10, clock: clock), context: ChainContext())
        _ = try await chain.request(request(id: "fresh", expiresIn: 10, clock: clock), context: ChainContext())
        #expect(await scheduler.fire().isEmpty)
        clock.advance(8)
        _ = try await chain.request(request(id: "fresh", expiresIn: 10, clock: clock), context: ChainContext())  // a refresh
        clock.advance(3)
        #expect(await scheduler.fire() == ["stale"])
        #expect(counter.closes == 1)
        clock.advance(20)
        #expect(await scheduler.fire() == ["fresh"])
    }

    @Test("a Close disarms the timeout")
    func closeDisarms() async throws {
        let clock = Clock()
        let scheduler = TimeoutScheduler { clock.now.withLock { $0 } }
        let counter = CountingElement()
        let chain = NetworkServiceChain([TimeoutElement(scheduler: scheduler), counter])
        scheduler.attach(chain: chain, logger: .init(label: "test"))
        let connection = try await chain.request(request(id: "gone", expiresIn: 5, clock: clock), context: ChainContext())
        try await chain.close(connection, context: ChainContext())
        clock.advance(60)
        #expect(await scheduler.fire().isEmpty)
        #expect(counter.closes == 1)
    }
}
