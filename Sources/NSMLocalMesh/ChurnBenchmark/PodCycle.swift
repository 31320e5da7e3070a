import Foundation
import Logging
import Netlink
import NSMAnnotation
import NSMAPI
import NSMCore
import NSMRuntime
import SPIFFE
import Synchronization

/// One pod's life in the churn benchmark — namespace, client, Request, checks, Close, checks,
/// namespace gone — and many of them at once, with the invariants kept across them.
final class PodCycle: Sendable {
    private struct State {
        /// Addresses of live connections → the pod holding each.
        var live: [String: Int] = [:]
        var violations: [String] = []
        var retries = 0
    }

    let cluster: LocalCluster
    let identity: WorkloadAPISource
    let logger: Logger
    let tokenLifetime: Duration
    private let state = Mutex(State())

    init(cluster: LocalCluster, identity: WorkloadAPISource, logger: Logger, tokenLifetime: Duration) {
        self.cluster = cluster
        self.identity = identity
        self.logger = logger
        self.tokenLifetime = tokenLifetime
    }

    var retries: Int { state.withLock { $0.retries } }
    var violations: [String] { state.withLock { $0.violations } }

    /// Pods `first..<first + count`, `concurrency` at a time; after every `killEvery` done, the
    /// worker that finished that one runs `kill` (the others go on meanwhile).
    func churn(
        count: Int, from first: Int, concurrency: Int, killEvery: Int? = nil, kill: @escaping @Sendable (Int) async throws -> Void = { _ in }
    ) async throws {
        let counters = Counters(first: first)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let index = counters.next.withLock({ value -> Int? in
                        guard value < first + count else { return nil }
                        defer { value += 1 }
                        return value
                    }) {
                        try await self.live(index)
                        let completed = counters.done.withLock { value -> Int in
                            value += 1
                            return value
                        }
                        if let killEvery, completed % killEvery == 0, completed < count { try await kill(completed) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The next pod to start and how many are done, shared by the workers.
    private final class Counters: Sendable {
        let next: Mutex<Int>
        let done = Mutex(0)
        init(first: Int) { next = Mutex(first) }
    }

    private func violation(_ text: String) {
        state.withLock { $0.violations.append(text) }
    }

    func live(_ index: Int) async throws {
        let name = cluster.namespaceName("p\(index)")
        let namespace = try NetworkNamespace.create(named: name)
        defer { try? NetworkNamespace.delete(named: name) }
        try NetlinkHandle(namespace: namespace).setUp(index: 1)
        let pool = GRPCClientPool(passingNamespace: namespace.path, identity: identity)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            defer { group.cancelAll() }
            let client = NSMClient(.init(
                name: "p\(index)", managerURL: try NSMURL(cluster.managerURL(0)),
                annotation: try NetworkServiceAnnotation.parse("kernel://\(HealBenchmark.service)/nsm-0"),
                namespaceURL: namespace.identity.url, requestTimeout: .seconds(15), maxTokenLifetime: tokenLifetime), pool: pool, logger: logger)
            let connection = try await connect(client, index)
            guard let address = connection.context.ipContext.srcIpAddrs.first else {
                violation("p\(index): connected without an address")
                await client.closeAll()
                return
            }
            // No two live connections share an address.
            if let holder = state.withLock({ state -> Int? in
                if let holder = state.live[address] { return holder }
                state.live[address] = index
                return nil
            }) {
                violation("p\(index) got \(address), which p\(holder) holds")
            }
            let handle = try NetlinkHandle(namespace: namespace)
            let addresses = try handle.addresses().filter { $0.index != 1 }.map(\.prefix.description)
            if !addresses.contains(address) { violation("p\(index): \(address) is not on its interface (\(addresses))") }
            await client.closeAll()
            state.withLock { state in if state.live[address] == index { state.live[address] = nil } }
            let remaining = try handle.links().filter { $0.index != 1 }.map(\.name)
            if !remaining.isEmpty { violation("p\(index): \(remaining.joined(separator: ", ")) still there after Close") }
        }
    }

    /// Requests until it works (a kill may be under way), 10 attempts with growing pauses.
    private func connect(_ client: NSMClient, _ index: Int) async throws -> Connection_Connection {
        var attempt = 0
        while true {
            do {
                return try await client.connect(0)
            } catch {
                attempt += 1
                state.withLock { $0.retries += 1 }
                guard attempt < 10 else { throw LocalMeshError("pod p\(index) could not connect in 10 attempts: \(error)") }
                // Back-off between attempts, as a client's retry does (not a wait for an event).
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }
}
