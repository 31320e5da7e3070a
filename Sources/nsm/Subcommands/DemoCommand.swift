import ArgumentParser
import Foundation
import NSMLocalMesh

/// `nsm demo`: the spec's example end to end on this machine, explained, then cleaned up.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a two-node mesh on this machine (as root), connect a pod to two services, show and ping, then clean up.",
        discussion: "Needs root (it creates network namespaces) and iproute2/ping. Leaves the machine as it found it."
    )

    @Flag(help: "Skip the step that kills and restarts a node's process.")
    var skipRestart = false

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("nsm demo creates network namespaces: run it as root") }
        let demo = Demo(restartNode: !skipRestart, say: { printFlushed($0) })
        do {
            try await demo.run()
            printFlushed("\nDemo complete.")
        } catch {
            printFlushed("\nDemo failed: \(error)")
            throw ExitCode.failure
        }
    }
}
