import ArgumentParser

/// `nsm bench …`: benchmarks that print numbers next to a peer measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks against peers measured in the same run.",
        subcommands: [BenchAttachCommand.self, BenchMeshCommand.self, BenchHealCommand.self, BenchChurnCommand.self, BenchDNSCommand.self, BenchOTLPSinkCommand.self]
    )
}
