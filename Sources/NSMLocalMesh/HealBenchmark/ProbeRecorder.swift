import IPAddressing
import NSMBenchmarks
import NSMRuntime
import Synchronization

/// Every pod's data path probed every few milliseconds: an ICMP echo from the pod's namespace to
/// its connection's endpoint address (the address follows the connection when it moves to
/// another endpoint), each probe's send and reply time kept. The heal benchmark reads from it how
/// long each pod was without its service and how many probes it lost.
final class ProbeRecorder: Sendable {
    struct Probe {
        var sent: UInt64
        var target: IPAddress
        var answered: UInt64?
    }

    private struct Pod {
        let namespace: String
        var echo: EchoProbe?
        var probes: [Probe] = []
        /// Probes not yet answered, by ICMP sequence number (the last 64 sent by `echo`).
        var outstanding: [UInt16: Int] = [:]
    }

    private let pods: Mutex<[Pod]>
    private let targets: @Sendable (Int) -> IPAddress?

    /// - Parameters:
    ///   - namespaces: each pod's namespace file.
    ///   - targets: pod index → the address to probe now (its connection's endpoint address).
    init(namespaces: [String], targets: @escaping @Sendable (Int) -> IPAddress?) {
        pods = Mutex(namespaces.map { Pod(namespace: $0) })
        self.targets = targets
    }

    var count: Int { pods.withLock { $0.count } }

    /// Probes until cancelled.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            tick()
            try? await Task.sleep(for: interval)
        }
    }

    /// Takes the replies that arrived, then sends each pod's next probe.
    func tick() {
        let targets = (0..<count).map(self.targets)
        pods.withLock { pods in
            let now = monotonicNanoseconds()
            for index in pods.indices {
                if let echo = pods[index].echo {
                    for sequence in echo.replies() {
                        if let probe = pods[index].outstanding.removeValue(forKey: sequence) { pods[index].probes[probe].answered = now }
                    }
                }
                guard let target = targets[index] else { continue }
                if pods[index].echo?.target != target {
                    pods[index].echo = try? EchoProbe(target: target, namespace: pods[index].namespace)
                    pods[index].outstanding = [:]
                }
                guard let echo = pods[index].echo else { continue }
                let sent = monotonicNanoseconds()
                if let sequence = echo.send() {
                    pods[index].outstanding[sequence] = pods[index].probes.count
                    pods[index].outstanding[sequence &- 64] = nil
                }
                // A probe the kernel refused (no route, interface gone) is sent and lost all the same.
                pods[index].probes.append(Probe(sent: sent, target: target))
            }
        }
    }

    /// Whether `pod` has a probe sent at or after `time` that was answered.
    func answered(_ pod: Int, sentSince time: UInt64) -> Bool {
        pods.withLock { pods in pods[pod].probes.reversed().prefix { $0.sent >= time }.contains { $0.answered != nil } }
    }

    /// For `pod` after `time`: when the first probe sent at or after it was answered (nil: none
    /// yet), and how many sent before that one went unanswered. With `awayFrom`, only probes to
    /// another address count as answered (the pod has moved to another endpoint).
    func recovery(_ pod: Int, after time: UInt64, awayFrom old: IPAddress? = nil) -> (answered: UInt64?, lost: Int) {
        pods.withLock { pods in
            let after = pods[pod].probes.drop { $0.sent < time }
            guard let first = after.firstIndex(where: { $0.answered != nil && $0.target != old }) else { return (nil, after.count { $0.answered == nil }) }
            return (after[first].answered, after[..<first].count { $0.answered == nil })
        }
    }

    /// The address `pod` probes now.
    func target(_ pod: Int) -> IPAddress? {
        pods.withLock { $0[pod].echo?.target }
    }

    /// The send times of the probes of `pod` sent in `range` that were never answered.
    func lostProbes(_ pod: Int, sentIn range: ClosedRange<UInt64>) -> [UInt64] {
        pods.withLock { pods in pods[pod].probes.filter { range.contains($0.sent) && $0.answered == nil }.map(\.sent) }
    }
}
