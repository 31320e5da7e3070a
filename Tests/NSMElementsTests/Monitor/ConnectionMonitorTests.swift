import NSMAPI
@testable import NSMElements
import Synchronization
import Testing

@Suite("ConnectionMonitor")
struct ConnectionMonitorTests {
    /// Deterministic choices for the property test.
    struct Dice {
        var state: UInt64
        mutating func roll(_ sides: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(sides))
        }
    }

    static func segment(_ dice: inout Dice, wildcards: Bool) -> Connection_PathSegment {
        var segment = Connection_PathSegment()
        let names = ["nsc", "nsmgr-a", "fwd-a", "nsmgr-b", "fwd-b", "nse"]
        if !wildcards || dice.roll(3) > 0 { segment.name = names[dice.roll(names.count)] }
        if !wildcards || dice.roll(2) > 0 { segment.id = "id\(dice.roll(12))" }
        return segment
    }

    @Test("each event reaches exactly the subscribers whose selector matches (indexed by segment, checked against a plain filter)")
    func deliveriesMatchThePlainFilter() async throws {
        var dice = Dice(state: 42)
        let monitor = ConnectionMonitor()
        var selectors: [Connection_MonitorScopeSelector] = []
        for _ in 0..<60 {
            var selector = Connection_MonitorScopeSelector()
            selector.pathSegments = (0..<dice.roll(3)).map { _ in Self.segment(&dice, wildcards: true) }
            if dice.roll(4) == 0 { selector.networkServices = ["svc\(dice.roll(2))"] }
            selectors.append(selector)
        }
        var connections: [Connection_Connection] = []
        for index in 0..<300 {
            var connection = Connection_Connection()
            connection.id = "c\(index)"
            connection.networkService = "svc\(dice.roll(2))"
            connection.path.pathSegments = (0..<(1 + dice.roll(5))).map { _ in Self.segment(&dice, wildcards: false) }
            connections.append(connection)
        }
        // Each subscriber reads as many updates as the plain filter says it gets (an update it
        // should not get shows up among them, out of place); a watchdog bounds the wait.
        let expectedCounts = selectors.map { selector in connections.filter { selector.matches($0) }.count }
        let received = try await withThrowingTaskGroup(of: (Int, [String])?.self) { group in
            for (index, selector) in selectors.enumerated() {
                let stream = monitor.subscribe(selector)
                let wanted = expectedCounts[index]
                group.addTask {
                    var ids: [String] = []
                    var events = stream.makeAsyncIterator()
                    while ids.count < wanted, let event = await events.next() {
                        if event.type == .update { ids += event.connections.keys }
                    }
                    return (index, ids)
                }
            }
            group.addTask {
                do { try await Task.sleep(for: .seconds(10)) } catch { return nil }  // cancelled: all arrived
                throw Expired(what: "every subscriber's events")
            }
            for connection in connections { monitor.update(connection) }
            var received: [Int: [String]] = [:]
            for try await result in group {
                guard let (index, ids) = result else { continue }
                received[index] = ids
                if received.count == selectors.count { group.cancelAll() }
            }
            return received
        }
        var delivered = 0
        for (index, selector) in selectors.enumerated() {
            let expected = connections.filter { selector.matches($0) }.map(\.id)
            #expect(received[index] == expected, "selector \(index): \(selector)")
            delivered += expected.count
        }
        // The random selectors cover both kinds: some match almost everything, some almost nothing.
        #expect(delivered > 300 && delivered < 60 * 300)
        try await eventually("the subscriptions to end") { monitor.subscriberCount == 0 }
    }
}
