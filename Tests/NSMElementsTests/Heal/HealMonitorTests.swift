import NSMAPI
import NSMCore
import NSMElements
import Synchronization
import Testing

@Suite("HealElement and HealMonitor")
struct HealMonitorTests {
    let manager = try! NSMURL("unix:///run/nsm.io.sock")

    func connection(_ id: String) -> Connection_Connection {
        var own = Connection_PathSegment()
        own.name = "pod"
        own.id = id
        return request(id: id, path: [own], index: 0).connection
    }

    func event(_ type: Connection_ConnectionEventType, _ connection: Connection_Connection, state: Connection_State) -> Connection_ConnectionEvent {
        var event = Connection_ConnectionEvent()
        event.type = type
        var reported = connection
        reported.state = state
        event.connections = [connection.id: reported]
        return event
    }

    @Test("DOWN or DELETE from the manager heals with reselection; a broken stream re-requests the same path; a closed connection is not followed")
    func heals() async throws {
        let dialer = FakeDialer()
        let monitor = HealMonitor(url: manager, dialer: dialer, pause: .milliseconds(1))
        let heals = Mutex<[String]>([])
        monitor.attach { id, cause in heals.withLock { $0.append("\(id):\(cause)") } }
        let chain = NetworkServiceChain([HealElement(monitor: monitor)])
        try await withRunning([monitor]) {
            _ = try await chain.request(.init(connection: connection("p-0"), preferences: []), context: ChainContext())
            _ = try await chain.request(.init(connection: connection("p-0"), preferences: []), context: ChainContext())  // a refresh: still one stream
            try await eventually("one stream") { dialer.openStreams == 1 }
            dialer.emit(event(.update, connection("p-0"), state: .up), at: manager)
            dialer.emit(event(.update, connection("p-0"), state: .down), at: manager)
            try await eventually("a heal") { heals.withLock { $0 } == ["p-0:lost"] }
            try await eventually("the stream again") { dialer.openStreams == 1 }
            dialer.emit(event(.delete, connection("p-0"), state: .up), at: manager)
            try await eventually("a second heal") { heals.withLock { $0.count } == 2 }
            try await eventually("the stream again") { dialer.openStreams == 1 }
            dialer.endStreams(at: manager)
            try await eventually("a re-request") { heals.withLock { $0.last } == "p-0:streamBroke" }
            try await eventually("the stream again") { dialer.openStreams == 1 }
            // Closed: the stream that ends is not followed again, and no heal is asked for (by the
            // time another connection went through a whole cycle).
            try await chain.close(connection("p-0"), context: ChainContext())
            dialer.endStreams(at: manager)
            _ = try await chain.request(.init(connection: connection("p-1"), preferences: []), context: ChainContext())
            try await eventually("p-1's stream") { dialer.openStreams == 1 }
            dialer.endStreams(at: manager)
            try await eventually("p-1's re-request") { heals.withLock { $0.last } == "p-1:streamBroke" }
        }
        #expect(heals.withLock { $0 }.prefix(4) == ["p-0:lost", "p-0:lost", "p-0:streamBroke", "p-1:streamBroke"])
    }
}
