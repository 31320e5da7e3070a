import Foundation
import GRPCCore
import IPAddressing
import Logging
public import NSMAPI
public import NSMAnnotation
public import NSMCore
import NSMElements
public import ServiceLifecycle
import SwiftProtobuf
import Readiness
import Synchronization
import Tracing

/// `nsm client`: the pod side. Requests every service of the annotation (concurrently) through
/// its chain, whose elements keep the connections alive and apart: retry with back-off, heal
/// (the manager's monitor says DOWN or deleted: reselect; the stream broke: request the same path
/// again), refresh before expiry, and the pod's own prefixes excluded. Closes them all on
/// graceful shutdown.
public final class NSMClient: Service, Sendable {
    public struct Configuration: Sendable {
        /// `NSM_NAME`: connection ids are `<name>-<i>`.
        public var name: String
        public var managerURL: NSMURL
        public var annotation: NetworkServiceAnnotation
        /// Labels added to every request unless the annotation sets them (`podName`, `nodeName`, `clusterName`).
        public var labels: [String: String]
        /// The pod's network namespace as sent in the KERNEL mechanism (`inode://…` or `file://…`).
        public var namespaceURL: String
        public var requestTimeout: Duration
        public var maxTokenLifetime: Duration
        public var retryInterval: Duration
        /// Called with every connection held after each change (established, healed, refreshed, closed):
        /// how the pod's DNS proxy learns the services' DNS configs.
        public var onConnectionsChange: (@Sendable ([Connection_Connection]) -> Void)?
        /// Called with what happens to the services (failures, heals, losses, ignored labels).
        public var onEvent: (@Sendable (NSMClientEvent) -> Void)?
        /// Connections an earlier process of this client left (the init container's, or this
        /// sidecar's before it restarted), by service index: requested again with their paths, as
        /// refreshes, so every hop keeps its segment and nothing is plumbed again. Entries whose
        /// id is not this client's for that index are ignored.
        public var adopted: [Int: Connection_Connection] = [:]
        /// Data-path liveness (ICMP echo to each connection's endpoint address); `nil`: off.
        /// `nsm client` and `nsm run` turn it on as upstream does (`NSM_LIVENESS_CHECK_*`).
        public var liveness: LivenessCheck?

        public init(
            name: String, managerURL: NSMURL, annotation: NetworkServiceAnnotation, labels: [String: String] = [:],
            namespaceURL: String = NamespaceURL.currentThread.description, requestTimeout: Duration = .seconds(15),
            maxTokenLifetime: Duration = .seconds(600), retryInterval: Duration = .milliseconds(200),
            onConnectionsChange: (@Sendable ([Connection_Connection]) -> Void)? = nil,
            onEvent: (@Sendable (NSMClientEvent) -> Void)? = nil
        ) {
            self.onConnectionsChange = onConnectionsChange
            self.onEvent = onEvent
            self.name = name
            self.managerURL = managerURL
            self.annotation = annotation
            self.labels = labels
            self.namespaceURL = namespaceURL
            self.requestTimeout = requestTimeout
            self.maxTokenLifetime = maxTokenLifetime
            self.retryInterval = retryInterval
        }
    }

    public let configuration: Configuration
    let pool: GRPCClientPool
    let logger: Logger
    let chain: NetworkServiceChain
    let refreshes = RefreshScheduler()
    let heals: HealMonitor
    /// One event at a time per connection: a refresh, a heal and a close never overlap.
    let serializer = KeyedSerializer()
    /// Connection ids by service index (`<name>-<index>`).
    let ids: [String]

    struct State {
        var connections: [Int: Connection_Connection] = [:]
        var healed = 0
        /// Connections whose data path has answered the liveness check's echo (by id).
        var answering: Set<String> = []
        /// When the newest answered probe of each watched connection was sent.
        var answeredProbeSent: [String: ContinuousClock.Instant] = [:]
        /// Connections with a liveness heal under way (one at a time each).
        var livenessHealing: Set<String> = []
        var lastFailure: String?
    }
    let state = Mutex(State())
    /// Resolved once every service has connected.
    let allConnected = ReadySignal<Void>()
    /// Each change of the connections held, in order; delivered to ``Configuration/onConnectionsChange``
    /// by `run()`, outside any lock.
    let reports: AsyncStream<[Connection_Connection]>
    let reportsContinuation: AsyncStream<[Connection_Connection]>.Continuation

    /// The most recent request failure, if any (for callers that give up waiting).
    public var lastError: String? { state.withLock { $0.lastFailure } }

    public init(_ configuration: Configuration, pool: GRPCClientPool, logger: Logger = Logger(label: "nsm.client")) {
        self.configuration = configuration
        self.pool = pool
        self.logger = logger
        ids = configuration.annotation.services.indices.map { "\(configuration.name)-\($0)" }
        let ids = self.ids
        let adopted = configuration.adopted.filter { index, connection in ids.indices.contains(index) && ids[index] == connection.id }
        state.withLock { $0.connections = adopted }
        let dialer = GRPCDialer(pool: pool, timeout: configuration.requestTimeout)
        heals = HealMonitor(url: configuration.managerURL, dialer: dialer, pause: configuration.retryInterval)
        chain = NetworkServiceChain([
            RetryElement(),
            MetricsElement(hop: "client"),
            HealElement(monitor: heals),
            RefreshElement(scheduler: refreshes),
            UpdatePathElement(name: configuration.name),
            ExpiresElement(lifetime: configuration.maxTokenLifetime),
            ExcludeOwnPrefixesElement(pod: PodPrefixes()),
            ClientURLElement(url: configuration.managerURL),
            ConnectElement(dialer: dialer),
        ])
        (reports, reportsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        refreshes.attach { [weak self] id in await self?.renew(id, heal: false) }
        heals.attach { [weak self] id, cause in await self?.controlPlaneLost(id, cause: cause) }
    }

    /// The connections currently held, in annotation order.
    public var connections: [Connection_Connection] {
        state.withLock { Self.ordered($0.connections) }
    }

    static func ordered(_ table: [Int: Connection_Connection]) -> [Connection_Connection] {
        table.keys.sorted().compactMap { table[$0] }
    }

    /// How many times a connection was healed (re-requested after a loss).
    public var healCount: Int { state.withLock { $0.healed } }

    /// The connections (by id) whose endpoint has answered the data-path liveness check: the
    /// ones it watches and heals.
    public var answeringDataPaths: Set<String> { state.withLock { $0.answering } }

    /// Waits until every service has connected (used by `nsm run` and tests); returns early
    /// when the waiting task is cancelled.
    public func ready() async { try? await allConnected.wait() }

    // MARK: Requests

    /// Requests every service once, concurrently, without retrying; returns the connections in
    /// annotation order.
    public func connect() async throws -> [Connection_Connection] {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in ids.indices {
                group.addTask { _ = try await self.request(index, reselect: false, retrying: nil) }
            }
            try await group.waitForAll()
        }
        return connections
    }

    /// Requests service `index` (annotation order) once, without retrying.
    public func connect(_ index: Int) async throws -> Connection_Connection {
        try await request(index, reselect: false, retrying: nil)
    }

    func baseRequest(_ index: Int) -> Networkservice_NetworkServiceRequest {
        let service = configuration.annotation.services[index]
        var connection = state.withLock { $0.connections[index] } ?? Connection_Connection()
        connection.id = ids[index]
        connection.networkService = service.networkService
        var labels = service.labels
        for (key, value) in configuration.labels where labels[key] == nil && !value.isEmpty { labels[key] = value }
        connection.labels = labels
        let mechanism = Connection_Mechanism.kernel(interfaceName: service.interfaceName, namespace: NamespaceURL(configuration.namespaceURL))
        return Networkservice_NetworkServiceRequest(connection: connection, preferences: [mechanism])
    }

    /// Requests service `index` through the chain (one event per connection at a time) and
    /// records the answer. `reselect` lets the manager choose another endpoint.
    @discardableResult
    /// `unlessAnswering`: a liveness heal queued behind another event for the connection; when its
    /// turn comes and the data path answers again, it is dropped (the connection as held is returned).
    func request(_ index: Int, reselect: Bool, retrying: RetryElement.Retrying?, unlessAnswering: Bool = false) async throws -> Connection_Connection {
        try await serializer.run(ids[index]) {
            if unlessAnswering, dataPathAlive(ids[index]) == true, let held = state.withLock({ $0.connections[index] }) { return held }
            var request = baseRequest(index)
            if reselect {
                // A new endpoint assigns its own addresses, routes and DNS.
                request.connection.context = Connectioncontext_ConnectionContext()
                request.connection.networkServiceEndpointName = ""
                request.connection.mechanism = Connection_Mechanism()
                request.connection.state = .reselectRequested
            }
            var context = ChainContext(logger: logger.about(connection: ids[index]))
            context.values[RetryElement.Retrying.self] = retrying
            let connection = try await ChainTracing.hop("client", "Request", connection: request.connection, kind: .client) {
                try await chain.request(request, context: context)
            }
            let all = state.withLock { state -> Bool in
                state.connections[index] = connection
                reportsContinuation.yield(Self.ordered(state.connections))
                return state.connections.count == ids.count
            }
            if all { allConnected.resolve() }
            return connection
        }
    }

    /// Closes every connection (15 s each at most).
    public func closeAll() async {
        let all = state.withLock { state -> [Int: Connection_Connection] in
            defer { state.connections = [:] }
            reportsContinuation.yield([])
            return state.connections
        }
        await withTaskGroup(of: Void.self) { group in
            for (index, connection) in all {
                group.addTask {
                    do {
                        try await self.serializer.run(self.ids[index]) {
                            try await ChainTracing.hop("client", "Close", connection: connection, kind: .client) {
                                try await self.chain.close(connection, context: ChainContext(logger: self.logger.about(connection: connection.id)))
                            }
                        }
                    } catch {
                        self.logger.info("close failed", metadata: ["nsm.connection.id": "\(connection.id)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
