/// The proxy's timers: a binary min-heap of (time, query id, query). A finished query's
/// entries are not removed; they are skipped when they come due (the query is no longer pending).
struct TickQueue {
    struct Tick {
        let time: UInt64
        let entry: PendingQuery
    }

    private var heap: [Tick] = []

    var count: Int { heap.count }
    var nextTime: UInt64? { heap.first?.time }

    mutating func push(_ time: UInt64, _ entry: PendingQuery) {
        heap.append(Tick(time: time, entry: entry))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].time < heap[parent].time else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest tick if it is due at `now`.
    mutating func popDue(_ now: UInt64) -> Tick? {
        guard let first = heap.first, first.time <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].time < heap[smallest].time { smallest = left }
            if right < heap.count, heap[right].time < heap[smallest].time { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    mutating func removeAll() { heap = [] }
}
