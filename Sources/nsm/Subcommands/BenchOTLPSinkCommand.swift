import ArgumentParser
import GRPCCore
import LeanGRPC
import Logging
import NSMLocalMesh
import Readiness
import ServiceLifecycle

/// `nsm bench otlp-sink`: the collector `nsm bench mesh` runs beside each traced component (one
/// per network namespace, on its loopback), taking the spans and keeping none.
struct BenchOTLPSinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "otlp-sink",
        abstract: "An OTLP/gRPC trace collector that keeps nothing (what `nsm bench mesh` exports its traced runs to).",
        shouldDisplay: false
    )

    @Option(help: "Port on 127.0.0.1 (0 picks a free one).") var port: Int = 4317

    func run() async throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is not a port; accepted: 0-65535") }
        let transport = LeanServerTransport(address: .tcp(host: "127.0.0.1", port: port))
        let sink = Sink(server: GRPCServer(transport: transport, services: [OTLPSink()]))
        let group = ComponentServiceGroup.make([sink], logger: Logger(label: "nsm.bench.otlp-sink"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let bound = try await transport.listeningAddress
            printFlushed("otlp sink on \(bound)")
            ServiceNotification.ready(status: "otlp sink on \(bound)")
            try await tasks.waitForAll()
        }
    }

    /// The server until graceful shutdown.
    struct Sink: Service {
        let server: GRPCServer<LeanServerTransport>

        func run() async throws {
            try await withGracefulShutdownHandler {
                try await server.serve()
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        }
    }
}
