import ArgumentParser
import Foundation
import NSMLocalMesh

/// `nsm bench heal`: how long pods are without their service after each kind of fault.
struct BenchHealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heal",
        abstract: "Break a local two-node mesh in each way in turn and time every pod's way back (probes every 10 ms); count what is left after.",
        discussion: """
            Faults, in order: \(HealFault.allCases.map(\.rawValue).joined(separator: ", ")). \
            Needs root. Build with -c release for meaningful numbers: swift build -c release --product nsm
            """
    )

    @Option(help: "Comma-separated pod counts.")
    var sizes: String = "1,10,100"

    @Option(help: "Comma-separated faults (default: all, in the order above).")
    var faults: String?

    @Option(help: "Milliseconds between two probes of a pod (1-1000).")
    var probeIntervalMs: Int = 10

    @Option(help: "Copy the components' logs into this directory (one folder per size) before each cluster is removed.")
    var keepLogs: String?

    @Flag(help: "Print the table as Markdown.")
    var markdown = false

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    func run() async throws {
        ProcessExecutor.install()
        try BenchSupport.requireRoot("heal")
        let counts = try BenchSupport.sizes(sizes, maximum: 1000)
        let chosen: [HealFault]
        do { chosen = try faults.map(HealFault.parse) ?? HealFault.allCases } catch { throw ValidationError("\(error)") }
        var benchmark = HealBenchmark(sizes: counts, faults: chosen, log: BenchSupport.progress)
        benchmark.keepLogs = keepLogs
        guard (1...1000).contains(probeIntervalMs) else { throw ValidationError("--probe-interval-ms: \(probeIntervalMs) is not 1-1000") }
        benchmark.probeInterval = .milliseconds(probeIntervalMs)
        let results = try await benchmark.run()
        print(json ? try HealBenchmark.json(results) : HealBenchmark.render(results, markdown: markdown))
    }
}
