/// Exponential back-off with jitter and a cap, for anything that retries a peer that is away
/// (a registry, a manager): `initial`, then ×`multiplier` per failure up to `maximum`, each delay
/// drawn within ±`jitter` of its value so that many retrying processes do not move in step.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    public var jitter: Double
    /// Failures in a row since the last ``reset()``.
    public private(set) var failures = 0

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(5), multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before the next attempt after one more failure.
    public mutating func next() -> Duration {
        let base = min(Self.seconds(initial) * pow(multiplier, Double(failures)), Self.seconds(maximum))
        failures += 1
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter)) : 1
        return .nanoseconds(Int64(min(base * factor, Self.seconds(maximum)) * 1e9))
    }

    /// A success: the next failure starts from `initial` again.
    public mutating func reset() { failures = 0 }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) where result < 1e9 { result *= base }
        return result
    }
}
