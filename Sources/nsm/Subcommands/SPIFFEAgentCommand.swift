import ArgumentParser
import Foundation
import ServiceLifecycle
import NSMCore
import NSMLocalMesh
import NSMRuntime
import Readiness

/// `nsm spiffe-agent`: the local cluster's SPIFFE Workload API (what SPIRE's agent is in a real
/// cluster). Callers are known by their socket credentials: their network namespace's name.
struct SPIFFEAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spiffe-agent",
        abstract: "Serve the SPIFFE Workload API for a local cluster: SVIDs from a CA of its own, callers named by their network namespace.")

    @Option(help: "The unix socket to serve on (what SPIFFE_ENDPOINT_SOCKET names).")
    var listenOn: String

    @Option(help: "The trust domain.")
    var trustDomain: String = LocalCluster.trustDomain

    @Option(help: "The cluster's name: IDs are spiffe://<trust domain>/ns/<cluster>/pod/<namespace name without the prefix>.")
    var cluster: String

    @Option(help: "The prefix of the cluster's namespace names.")
    var namespacePrefix: String

    @Option(help: "How long each SVID is valid (rotated at half of it), e.g. 1h, 10s (NSM_SVID_LIFETIME).")
    var svidLifetime: String = Environment.string("NSM_SVID_LIFETIME") ?? "1h"

    func run() async throws {
        ProcessExecutor.install()
        let logger = ComponentLogging.logger("nsm.spiffe-agent")
        let lifetime = try Environment.duration(svidLifetime, flag: "svid-lifetime", variable: "NSM_SVID_LIFETIME")
        guard lifetime >= .seconds(2) else { throw ValidationError("--svid-lifetime \(svidLifetime): at least 2s") }
        let url: NSMURL
        do { url = try NSMURL(listenOn) } catch { throw ValidationError("--listen-on: \(error)") }
        let attestor = NamespaceAttestor(prefix: namespacePrefix, cluster: cluster, trustDomain: trustDomain)
        let agent = try SPIFFEAgent(.init(listen: url, trustDomain: trustDomain, svidLifetime: lifetime, attest: attestor.attest), logger: logger)
        let group = ComponentServiceGroup.make(agent.services, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let listening = try await agent.server.listening()
            printFlushed("SPIFFE Workload API for trust domain \(trustDomain) on \(listening), SVIDs valid \(svidLifetime)")
            ServiceNotification.ready(status: "Workload API on \(listening)")
            try await tasks.waitForAll()
        }
    }
}
