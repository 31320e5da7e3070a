import Glibc

/// Monotonic time in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Milliseconds elapsed while running `body`.
public func measure<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = monotonicNanoseconds()
    let result = try body()
    return (result, Double(monotonicNanoseconds() - start) / 1e6)
}

/// Summary statistics of a set of samples (milliseconds).
public struct Percentiles: Sendable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double
    public var mean: Double
    public var total: Double
    public var count: Int

    public init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func at(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
        }
        p50 = at(0.5)
        p90 = at(0.9)
        p99 = at(0.99)
        max = sorted.last ?? .nan
        total = sorted.reduce(0, +)
        mean = sorted.isEmpty ? .nan : total / Double(sorted.count)
        count = sorted.count
    }
}
