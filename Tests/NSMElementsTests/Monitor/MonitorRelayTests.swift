import Synchronization
import Logging
import NSMAPI
import NSMCore
import NSMElements
import Testing

@Suite("MonitorRelay")
struct MonitorRelayTests {
    let next = try! NSMURL("unix:///run/fwd.sock")

    /// A connection at this hop ("nsmgr") as the relay element sees it after the Request.
    func connection(_ id: String) -> Connection_Connection {
        var own = Connection_PathSegment()
        own.name = "nsmgr"
        own.id = id
        var connection = request(id: id, path: [own], index: 0).connection
        connection.state = .up
        return connection
    }

    /// The next hop's event about its copy of the connection (its path carries our segment).
    func event(_ type: Connection_ConnectionEventType, for id: String, state: Connection_State = .up) -> Connection_ConnectionEvent {
        var event = Connection_ConnectionEvent()
        event.type = type
        var theirs = connection(id)
        theirs.id = "fwd-\(id)"
        theirs.state = state
        event.connections = [theirs.id: theirs]
        return event
    }

    @Test("one stream per next hop; DOWN or DELETE there marks only that connection down here; a broken stream marks all of them and suspects the peer")
    func relays() async throws {
        let dialer = FakeDialer(), monitor = ConnectionMonitor()
        let relay = MonitorRelay(hopName: "nsmgr", dialer: dialer, monitor: monitor, logger: Logger(label: "test"))
        let chain = NetworkServiceChain([ClientURLElement(url: next), MonitorElement(monitor), MonitorRelayElement(relay: relay)])
        try await withRunning([relay]) {
            for id in ["c1", "c2", "c3"] { _ = try await chain.request(.init(connection: connection(id), preferences: []), context: ChainContext()) }
            try await eventually("the relay's stream") { dialer.openStreams == 1 }
            dialer.emit(event(.update, for: "c1", state: .down), at: next)
            try await eventually("c1 down") { monitor.connections["c1"]?.state == .down }
            dialer.emit(event(.delete, for: "c2"), at: next)
            try await eventually("c2 down") { monitor.connections["c2"]?.state == .down }
            #expect(monitor.connections["c3"]?.state == .up)
            // A connection closed here is no longer relayed.
            try await chain.close(connection("c3"), context: ChainContext())
            _ = try await chain.request(.init(connection: connection("c4"), preferences: []), context: ChainContext())
            dialer.endStreams(at: next)
            try await eventually("c4 down after the stream broke") { monitor.connections["c4"]?.state == .down }
            #expect(monitor.connections["c3"] == nil)
            #expect(dialer.suspected.withLock { $0 }.contains(next))
        }
    }
}
