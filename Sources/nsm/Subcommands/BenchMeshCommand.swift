import ArgumentParser
import Foundation
import NSMLocalMesh

/// `nsm bench mesh`: request → interface ready through a local two-node cluster, vs CNI ptp.
struct BenchMeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Time full requests (pod → interface ready) through a local two-node mesh; compare with CNI ptp.",
        discussion: "Needs root. Build with -c release for meaningful numbers: swift build -c release --product nsm"
    )

    @Option(help: "Comma-separated pod counts.")
    var sizes: String = "1,100,1000"

    @Flag(help: "Skip the cross-node (VXLAN) requests.")
    var sameNodeOnly = false

    @Flag(help: "Skip the same run in plaintext (every component with NSM_INSECURE=true), the comparison that prices mutual TLS.")
    var noPlaintext = false

    @Flag(help: "Skip the same run with Prometheus metrics on in every component (PROMETHEUS=true), the comparison that prices them.")
    var noMetrics = false

    @Flag(help: "Skip the same run with tracing on in every component and client (TELEMETRY=opentelemetry, spans exported over OTLP to a collector in each namespace), the comparison that prices it.")
    var noTracing = false

    @Flag(help: "Skip the CNI ptp comparison.")
    var noCNI = false

    @Flag(help: "Print the table as Markdown.")
    var markdown = false

    func run() async throws {
        ProcessExecutor.install()
        try BenchSupport.requireRoot("mesh")
        let counts = try BenchSupport.sizes(sizes, maximum: 5000)
        let benchmark = MeshBenchmark(sizes: counts, crossNode: !sameNodeOnly, compareCNI: !noCNI, comparePlaintext: !noPlaintext, compareMetrics: !noMetrics, compareTracing: !noTracing,
            log: BenchSupport.progress)
        print(MeshBenchmark.render(try await benchmark.run(), markdown: markdown))
    }
}
