/// Whether each upstream is worth waiting for, as CoreDNS's forward plugin tracks it: an upstream
/// that let ``downAfter`` queries in a row end without its answer is down. A down upstream is
/// still asked every query (so it is seen the moment it answers again) but no query waits for
/// it; any datagram it sends brings it back up.
struct UpstreamHealth {
    static let downAfter = 3

    private var consecutiveTimeouts: [Int]
    /// How many are down now (so the common case — none — costs one comparison per datagram).
    private(set) var downCount = 0

    init(count: Int) { consecutiveTimeouts = Array(repeating: 0, count: count) }

    func isDown(_ index: Int) -> Bool { consecutiveTimeouts[index] >= Self.downAfter }

    /// A query ended without upstream `index`'s answer; true when this marks it down.
    mutating func timedOut(_ index: Int) -> Bool {
        consecutiveTimeouts[index] += 1
        guard consecutiveTimeouts[index] == Self.downAfter else { return false }
        downCount += 1
        return true
    }

    /// Upstream `index` answered; true when it was down until now.
    mutating func answered(_ index: Int) -> Bool {
        defer { consecutiveTimeouts[index] = 0 }
        guard isDown(index) else { return false }
        downCount -= 1
        return true
    }

    /// Which of `indices` a query must wait for: the live ones, or all of them when every one is down.
    func awaited(_ indices: [Int]) -> [Bool] {
        let live = indices.map { !isDown($0) }
        return live.contains(true) ? live : Array(repeating: true, count: indices.count)
    }
}
