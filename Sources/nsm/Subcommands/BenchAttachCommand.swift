import ArgumentParser
import Foundation
import NSMBenchmarks

/// `nsm bench attach`: veth attachment to N pod namespaces, ours vs `ip -batch` vs CNI `ptp`.
struct BenchAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach one veth to each of N fresh pod namespaces: netlink library vs ip -batch vs CNI ptp.",
        discussion: """
            Needs root. Creates its own node and pod namespaces (named nsmb<pid>-…) and removes \
            them afterwards; nothing touches the machine's own namespace. Build with -c release \
            for meaningful numbers: swift run -c release nsm bench attach
            """
    )

    @Option(help: "Comma-separated pod counts.")
    var sizes: String = "10,100,1000"

    @Option(help: "Comma-separated methods: netlink, ip, cni.")
    var methods: String = "netlink,ip,cni"

    @Flag(help: "Print the result table as Markdown.")
    var markdown = false

    @Flag(help: "Print progress to standard error.")
    var verbose = false

    func run() throws {
        let counts = try BenchSupport.sizes(sizes, maximum: 10_000)
        let names: [String: AttachBenchmark.Method] = ["netlink": .netlink, "ip": .ipBatch, "cni": .cni]
        let chosen = try methods.split(separator: ",").map { text -> AttachBenchmark.Method in
            guard let method = names[text.trimmingCharacters(in: .whitespaces)] else {
                throw ValidationError("--methods: \"\(text)\" is not one of netlink, ip, cni")
            }
            return method
        }
        try BenchSupport.requireRoot("attach")
        let verbose = self.verbose
        let benchmark = AttachBenchmark(sizes: counts, methods: chosen, log: { line in
            if verbose { BenchSupport.progress(line) }
        })
        let results = try benchmark.run()
        print(AttachReport(results: results).render(markdown: markdown))
    }
}
