@testable import NSMDNS
import Testing

@Suite("The proxy's timer heap")
struct TickQueueTests {
    @Test("ticks come due in time order, only when due")
    func order() throws {
        var queue = TickQueue()
        var random = DNSFuzzTests.Random(state: 42)
        let entry = PendingQuery(
            facts: QueryFacts(DNSMessage.query(DNSQuestion(name: try DNSName("a.example"), type: .a), id: 1)), queryBytes: [], transport: .udp, reply: { _ in }, outgoingID: 1, outgoingBytes: [], deadline: 0, upstreams: [], peers: [], endpoints: [], upstreamIndices: [], awaited: [], socketChoice: 0)
        var times: [UInt64] = []
        for _ in 0..<500 {
            let time = UInt64.random(in: 1...10_000, using: &random)
            times.append(time)
            queue.push(time, entry)
        }
        #expect(queue.nextTime == times.min())
        #expect(queue.popDue(times.min()! - 1) == nil, "nothing is due before the earliest tick")
        var popped: [UInt64] = []
        while let tick = queue.popDue(5_000) { popped.append(tick.time) }
        #expect(popped == times.filter { $0 <= 5_000 }.sorted())
        while let tick = queue.popDue(.max) { popped.append(tick.time) }
        #expect(popped == times.sorted() && queue.count == 0 && queue.nextTime == nil)
    }
}
