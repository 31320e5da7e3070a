import ArgumentParser
import Foundation
import Logging
import Netlink
import NSMAnnotation
import NSMCore
import NSMLocalMesh
import NSMRuntime
import ServiceLifecycle

/// `nsm run --annotation '<value>' [--node N] -- CMD…`: a throwaway pod on a local cluster.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Make a pod namespace on a node of a local cluster, connect it to the annotated services, run CMD in it, then close everything.",
        discussion: "Start the cluster first: nsm cluster up, nsm cluster endpoint …. Exits with CMD's status."
    )

    @Option(help: "The networkservicemesh.io annotation value.") var annotation: String
    @Option(help: "Node index.") var node: Int = 0
    @Option(help: "Cluster name (nsm cluster up --name).") var cluster: String = "local"
    @Option(help: "Pod name.") var podName: String = "pod-\(getpid())"
    @Option(help: "Seconds to wait for the services before giving up.") var timeout: Double = 30
    @Argument(parsing: .captureForPassthrough, help: "The command to run inside the pod.") var command: [String] = []

    func run() async throws {
        var command = self.command
        if command.first == "--" { command.removeFirst() }
        guard !command.isEmpty else { throw ValidationError("give a command after --, e.g. nsm run --annotation 'kernel://svc' -- ip addr") }
        let parsed: NetworkServiceAnnotation
        do { parsed = try NetworkServiceAnnotation.parse(annotation) } catch { throw ValidationError("--annotation: \(error)") }
        let localCluster = LocalCluster(prefix: "nsm-\(cluster)", nodes: node + 1)
        guard FileManager.default.fileExists(atPath: localCluster.stateFile) else {
            throw ValidationError("cluster \(cluster) is not up; run nsm cluster up --name \(cluster)")
        }
        let pod = try LocalPod(cluster: localCluster, name: podName)
        defer { pod.destroy() }
        var logger = Logger(label: "nsm.run")
        logger.logLevel = .warning
        let pool = GRPCClientPool()
        let dns = try pod.makeDNS(logger: logger)
        let client = NSMClient(.init(
            name: podName, managerURL: try NSMURL(localCluster.managerURL(node)), annotation: parsed, labels: ["podName": podName],
            namespaceURL: pod.namespace.identity.url, onConnectionsChange: { dns.update($0) }), pool: pool, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: pool), .init(service: dns), .init(service: client)], logger: logger))
        var status: Int32 = 0
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = Date().addingTimeInterval(timeout)
            while client.connections.count < parsed.services.count || !dns.isReady || dns.connectionCount < parsed.services.count {
                guard Date() < deadline else {
                    // What was missing, read before shutting down (which closes everything).
                    let dnsState = dns.failure.map { "the DNS proxy failed: \($0)" }
                        ?? (dns.isReady ? "DNS saw \(dns.connectionCount) connection(s)" : "the DNS proxy is not listening yet")
                    let problem = "the services did not connect within \(Int(timeout)) s: \(client.connections.count) of \(parsed.services.count) connected, "
                        + "\(dnsState); last request error: \(client.lastError ?? "none")"
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    throw ValidationError(problem)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            FileHandle.standardError.write(Data((ConnectionsTable.render(client.connections) + "\n").utf8))
            let process = pod.process(command)
            try process.run()
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            status = process.terminationStatus
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        throw ExitCode(status)
    }
}
