import NSMAPI
import NSMCore
import NSMElements
import Synchronization
import Testing

@Suite("BeginElement")
struct BeginElementTests {
    @Test("events of one connection never overlap; other connections run in parallel")
    func serialises() async throws {
        let tracker = OverlapTracker()
        let chain = NetworkServiceChain([BeginElement(), SlowElement(tracker: tracker)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask { _ = try await chain.request(request(id: index % 2 == 0 ? "same" : "other-\(index)"), context: ChainContext()) }
            }
            try await group.waitForAll()
        }
        #expect(tracker.maxOverlap["same"] == 1)
        #expect(tracker.maxTotal > 1)
    }

    @Test("an empty id is rejected; a reselect closes the old path first")
    func rules() async throws {
        let counter = CountingElement()
        let chain = NetworkServiceChain([BeginElement(), counter])
        await #expect(throws: NSMError.self) { _ = try await chain.request(request(id: ""), context: ChainContext()) }
        _ = try await chain.request(request(id: "x"), context: ChainContext())
        var reselect = request(id: "x")
        reselect.connection.state = .reselectRequested
        reselect.connection.networkServiceEndpointName = "old"
        let answer = try await chain.request(reselect, context: ChainContext())
        #expect(counter.closes == 1)
        #expect(answer.state == .up && answer.networkServiceEndpointName == "")
    }
}

final class OverlapTracker: Sendable {
    private let state = Mutex<(current: [String: Int], max: [String: Int], total: Int, maxTotal: Int)>(([:], [:], 0, 0))
    func enter(_ key: String) {
        state.withLock {
            $0.current[key, default: 0] += 1
            $0.max[key] = max($0.max[key] ?? 0, $0.current[key]!)
            $0.total += 1
            $0.maxTotal = max($0.maxTotal, $0.total)
        }
    }
    func leave(_ key: String) { state.withLock { $0.current[key]! -= 1; $0.total -= 1 } }
    var maxOverlap: [String: Int] { state.withLock { $0.max } }
    var maxTotal: Int { state.withLock { $0.maxTotal } }
}

struct SlowElement: NetworkServiceElement {
    let tracker: OverlapTracker
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        let key = request.connection.id == "same" ? "same" : "other"
        tracker.enter(key)
        try await Task.sleep(for: .milliseconds(5))
        tracker.leave(key)
        return try await next.request(request, context: context)
    }
}
