import Readiness
import ArgumentParser
import Logging
import NSMCore
import NSMRuntime
import ServiceLifecycle
import UnixSignals

/// `nsm registry`: the network service and endpoint registries (in memory).
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Run the registry of network services and endpoints.",
        discussion: "Environment (as upstream registry-k8s): NSM_LISTEN_ON, NSM_EXPIRE_PERIOD. Flags override them."
    )

    @Option(help: "Where to listen, comma-separated (NSM_LISTEN_ON). E.g. tcp://:5002,unix:///run/nsm/registry.sock")
    var listenOn: String = Environment.string("NSM_LISTEN_ON") ?? "tcp://:5002"
    @Option(name: .customLong("listen"), help: .hidden) var legacyListen: String?
    var listen: String { legacyListen ?? listenOn }

    @Option(help: "How long an endpoint registration lasts without renewal (NSM_EXPIRE_PERIOD), e.g. 1m, 30s.")
    var expirePeriod: String = Environment.string("NSM_EXPIRE_PERIOD") ?? "1m"

    func run() async throws {
        ProcessExecutor.install()
        let urls = try listen.split(separator: ",").map { try listenURL(String($0)) }
        let period = try Environment.duration(expirePeriod, flag: "expire-period", variable: "NSM_EXPIRE_PERIOD")
        let logger = ComponentLogging.logger("nsm.registry")
        let registry = RegistryServer(.init(listen: urls, expirePeriod: period), logger: logger)
        let group = ComponentServiceGroup.make(registry.services, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var urls: [String] = []
            for server in registry.servers { urls.append("\(try await server.listening())") }
            for url in urls { printFlushed("registry listening on \(url)") }
            ServiceNotification.ready(status: "registry listening on \(urls.joined(separator: ", "))")
            try await tasks.waitForAll()
        }
    }
}
