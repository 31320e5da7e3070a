import ArgumentParser
import Foundation
import NSMLocalMesh

/// `nsm bench churn`: many pods connecting and closing while components are killed.
struct BenchChurnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn",
        abstract: "Connect and close many pods through a local two-node mesh while endpoints and a node are killed; check invariants, leftovers, memory and descriptors.",
        discussion: "Needs root. Build with -c release: swift build -c release --product nsm"
    )

    @Option(help: "How many pods connect and close (after a warm-up of 20).")
    var pods: Int = 1000

    @Option(help: "How many pods at a time.")
    var concurrency: Int = 8

    @Option(help: "Kill the next of nse-a, nse-b, node1 after every this many pods.")
    var killEvery: Int = 100

    func run() async throws {
        ProcessExecutor.install()
        try BenchSupport.requireRoot("churn")
        guard (1...100_000).contains(pods) else { throw ValidationError("--pods: \(pods) is not 1-100000") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency: \(concurrency) is not 1-64") }
        guard killEvery >= 1 else { throw ValidationError("--kill-every: \(killEvery) is not 1 or more") }
        let benchmark = ChurnBenchmark(pods: pods, concurrency: concurrency, killEvery: killEvery, log: BenchSupport.progress)
        print(ChurnBenchmark.render(try await benchmark.run()))
    }
}
