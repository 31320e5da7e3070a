import NSMCore
import Testing

@Suite("Back-off")
struct BackoffTests {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("doubles from the initial delay to the cap, within the jitter, and starts over after a success")
    func growth() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2), jitter: 0.2)
        let delays = (0..<8).map { _ in Self.seconds(backoff.next()) }
        let expected = [0.1, 0.2, 0.4, 0.8, 1.6, 2, 2, 2]
        for (delay, base) in zip(delays, expected) {
            #expect(delay >= base * 0.8 - 1e-9 && delay <= min(base * 1.2, 2) + 1e-9, "\(delay) for \(base)")
        }
        #expect(backoff.failures == 8)
        backoff.reset()
        #expect(Self.seconds(backoff.next()) <= 0.12 + 1e-9)
    }

    @Test("without jitter the delays are exact")
    func exact() {
        var backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(1), jitter: 0)
        #expect((0..<4).map { _ in backoff.next() } == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(1)])
    }
}
