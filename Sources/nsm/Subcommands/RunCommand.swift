import ChildProcesses
import Readiness
import ArgumentParser
import Foundation
import Logging
import Netlink
import NSMAnnotation
import NSMCore
import NSMLocalMesh
import NSMRuntime
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `nsm run --annotation '<value>' [--node N] -- CMD…`: a throwaway pod on a local cluster.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Make a pod namespace on a node of a local cluster, connect it to the annotated services, run CMD in it, then close everything.",
        discussion: """
            Start the cluster first: nsm cluster up, nsm cluster endpoint …. Request failures, heals and lost \
            services are printed as they happen. Exits with CMD's status; 1 when the services did not connect \
            in time; 128+N on signal N. SIGINT and SIGTERM are passed to CMD, and everything is closed and \
            removed before nsm run exits.
            """
    )

    @Option(help: "The networkservicemesh.io annotation value.") var annotation: String
    @Option(help: "Node index.") var node: Int = 0
    @Option(name: [.customLong("cluster"), .customLong("name")], help: "Cluster name (nsm cluster up --cluster).") var cluster: String = "local"
    @Option(help: "Pod name.") var podName: String = "pod-\(getpid())"
    @Option(help: "Seconds to wait for the services before giving up.") var timeout: Double = 30
    @OptionGroup var liveness: LivenessOptions
    @Argument(parsing: .captureForPassthrough, help: "The command to run inside the pod.") var command: [String] = []

    /// What ended the wait for the services.
    enum Wait { case ready, signal(Int32), timedOut(String) }
    /// Which child task of `run` finished.
    enum Finished: Sendable { case services, signals }

    func run() async throws {
        var command = self.command
        if command.first == "--" { command.removeFirst() }
        guard !command.isEmpty else { throw ValidationError("give a command after --, e.g. nsm run --annotation 'kernel://svc' -- ip addr") }
        let parsed: NetworkServiceAnnotation
        do { parsed = try NetworkServiceAnnotation.parse(annotation) } catch { throw ValidationError("--annotation: \(error)") }
        let nodes = try ClusterState.nodes(of: cluster, checking: node)
        let localCluster = LocalCluster(prefix: "nsm-\(cluster)", nodes: nodes)
        let pod = try LocalPod(cluster: localCluster, name: podName)
        defer { pod.destroy() }
        var logger = Logger(label: "nsm.run")
        logger.logLevel = .critical
        // The client runs here, outside the pod: its connections pass the pod's namespace.
        // Trapped before anything can print or fail: a signal from then on is ours to pass on.
        let trapped = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let identity = try ProcessIdentity.of(agentSocket: localCluster.agentSocket)
        try await identity.ready()
        let pool = GRPCClientPool(passingNamespace: pod.namespace.path, identity: identity.source)
        let dns = try pod.makeDNS(logger: logger)
        var configuration = NSMClient.Configuration(
            name: podName, managerURL: try NSMURL(localCluster.managerURL(node)), annotation: parsed, labels: ["podName": podName],
            namespaceURL: pod.namespace.identity.url, onConnectionsChange: { dns.update($0) },
            onEvent: { Self.say($0.description) })
        configuration.liveness = try liveness.check()
        let client = NSMClient(configuration, pool: pool, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: identity.services.map { .init(service: $0) } + [.init(service: pool), .init(service: dns), .init(service: client)], logger: logger))
        let signals = SignalRelay()
        var status: Int32 = 0
        var failure: String?
        try await withThrowingTaskGroup(of: Finished.self) { tasks in
            tasks.addTask { try await group.run(); return .services }
            tasks.addTask {
                // Passed to the command once it runs; before that they end the wait.
                for await signal in trapped { signals.deliver(signal.rawValue) }
                return .signals
            }
            switch try await waitForServices(client: client, dns: dns, count: parsed.services.count, signals: signals) {
            case .ready:
                Self.say(ConnectionsTable.render(client.connections))
                let process = try pod.child(command)
                signals.adopt(process)
                status = await process.exitStatus()
            case .signal(let signal):
                Self.say("interrupted by signal \(signal) before the services connected; closing everything")
                status = 128 + signal
            case .timedOut(let problem):
                failure = problem
            }
            await group.triggerGracefulShutdown()
            while let finished = try await tasks.next() {
                if finished == .services { tasks.cancelAll() }
            }
        }
        if let failure { throw CommandFailure(failure) }
        throw ExitCode(status)
    }

    /// Waits for whichever comes first: every service connected and the pod's DNS following them,
    /// a signal, or the timeout.
    private func waitForServices(client: NSMClient, dns: PodDNS, count: Int, signals: SignalRelay) async throws -> Wait {
        let limit = Duration.milliseconds(Int(timeout * 1000))
        let outcome = try await withThrowingTaskGroup(of: Wait?.self) { group in
            group.addTask {
                await client.ready()
                try await dns.ready.wait()
                try await dns.covering(count)
                return .ready
            }
            group.addTask { .signal(try await signals.first.wait()) }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        if let outcome { return outcome }
        // What was missing, read before shutting down (which closes everything).
        let dnsState = dns.failure.map { "the DNS proxy failed: \($0)" }
            ?? (dns.isReady ? "DNS saw \(dns.connectionCount) connection(s)" : "the DNS proxy is not listening yet")
        return .timedOut("the services did not connect within \(Int(timeout)) s: \(client.connections.count) of \(count) connected, "
            + "\(dnsState); last request error: \(client.lastError ?? "none")")
    }

    static func say(_ line: String) {
        FileHandle.standardError.write(Data("nsm run: \(line)\n".utf8))
    }
}

extension RunCommand.Finished: Equatable {}

/// Signals `nsm run` received, passed on to its command once that runs.
final class SignalRelay: Sendable {
    private let state = Mutex<(received: Int32?, child: ChildProcess?)>((nil, nil))

    /// Resolved with the first signal.
    let first = ReadySignal<Int32>()

    func deliver(_ signal: Int32) {
        let child = state.withLock { state in
            state.received = signal
            return state.child
        }
        first.resolve(signal)
        child?.signal(signal)
    }

    /// The command now runs: it gets every later signal, and one that came while it started.
    func adopt(_ child: ChildProcess) {
        let pending = state.withLock { state in
            state.child = child
            return state.received
        }
        if let pending { child.signal(pending) }
    }
}

/// What `nsm cluster up` recorded about a local cluster.
enum ClusterState {
    /// The number of nodes of cluster `name`; a runtime failure when it is not up, or when it
    /// has no node `node`.
    static func nodes(of name: String, checking node: Int? = nil) throws -> Int {
        let state = LocalCluster(prefix: "nsm-\(name)", nodes: 0).stateFile
        guard let data = FileManager.default.contents(atPath: state),
              let recorded = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let nodes = recorded["nodes"] as? Int
        else { throw CommandFailure("cluster \(name) is not up; start it with nsm cluster up --cluster \(name)") }
        if let node {
            do { try LocalCluster.checkNode(node, of: nodes, cluster: "cluster \(name)") } catch { throw CommandFailure("\(error)") }
        }
        return nodes
    }
}
