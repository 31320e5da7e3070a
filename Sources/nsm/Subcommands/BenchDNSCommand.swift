import TextTables
import ArgumentParser
import Foundation
import NSMBenchmarks
import NSMLocalMesh

/// `nsm bench dns`: the DNS proxy against dnsmasq on the same upstreams.
struct BenchDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "DNS proxy vs dnsmasq (--all-servers, and per-domain servers) on the same two upstreams: correctness, latency, qps, RSS.",
        discussion: "Needs root, dnsmasq and dnsperf (scripts/install-deps.sh). Build with -c release for meaningful numbers."
    )

    @Option(help: "Cold queries per peer and concurrency.") var coldQueries: Int = 4_000
    @Option(help: "Cached queries per peer and concurrency.") var warmQueries: Int = 20_000
    @Option(help: "dnsperf seconds per peer.") var seconds: Int = 10
    @Option(help: "Latency rounds; the peers take turns within each.") var rounds: Int = 20
    @Flag(help: "Print the table as Markdown.") var markdown = false

    func run() async throws {
        let benchmark = DNSBenchmark(.init(coldQueries: coldQueries, warmQueries: warmQueries, seconds: seconds, rounds: rounds, executable: currentExecutable()))
        let reports = try await benchmark.run(progress: BenchSupport.progress)
        print(TextTable.render(DNSReport.rows(reports), markdown: markdown))
    }
}
