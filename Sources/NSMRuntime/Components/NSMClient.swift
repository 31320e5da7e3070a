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
import Synchronization

/// `nsm client`: the pod side. Requests every service of the annotation (concurrently), keeps
/// the connections alive (refresh before expiry; heal on DOWN/DELETE from the manager's monitor
/// or a broken monitor stream: re-request, reselecting another endpoint), and closes them all
/// on graceful shutdown.
///
/// Addresses never collide across the pod's services: each request excludes the addresses and
/// host routes of the pod's other connections, and a response that still collides (two
/// services requested at the same moment) is closed and requested again with the exclusion.
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
    let chain: NetworkServiceChain
    let logger: Logger
    let state = Mutex<[Int: Connection_Connection]>([:])
    let gate = RequestGate()
    let readyWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    let healed = Mutex<Int>(0)
    let lastFailure = Mutex<String?>(nil)
    /// Held while a change is reported, so reports go out one at a time, each with the table as
    /// it is then: two services connecting at once must not report out of order (a report of
    /// one connection arriving after the report of both left the pod's DNS without the second
    /// service's servers).
    let reporting = Mutex<Void>(())

    /// The most recent request failure, if any (for callers that give up waiting).
    public var lastError: String? { lastFailure.withLock { $0 } }

    public init(_ configuration: Configuration, pool: GRPCClientPool, logger: Logger = Logger(label: "nsm.client")) {
        self.configuration = configuration
        self.pool = pool
        self.logger = logger
        chain = NetworkServiceChain([
            UpdatePathElement(name: configuration.name),
            ExpiresElement(lifetime: configuration.maxTokenLifetime),
            ClientURLElement(url: configuration.managerURL),
            ConnectElement(dialer: GRPCDialer(pool: pool, timeout: configuration.requestTimeout)),
        ])
    }

    /// The connections currently held, in annotation order.
    public var connections: [Connection_Connection] {
        state.withLock { table in table.keys.sorted().compactMap { table[$0] } }
    }

    /// How many times a connection was healed (re-requested after a loss).
    public var healCount: Int { healed.withLock { $0 } }

    /// Waits until every service is connected (used by `nsm run` and tests).
    public func ready() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { $0.count } == configuration.annotation.services.count
            if done { continuation.resume() } else { readyWaiters.withLock { $0.append(continuation) } }
        }
    }

    // MARK: Requests

    /// Requests every service once, concurrently; returns the connections in annotation order.
    public func connect() async throws -> [Connection_Connection] {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in configuration.annotation.services.indices {
                group.addTask { _ = try await self.establish(index, reselect: false) }
            }
            try await group.waitForAll()
        }
        return connections
    }

    func baseRequest(_ index: Int) -> Networkservice_NetworkServiceRequest {
        let service = configuration.annotation.services[index]
        var connection = state.withLock { $0[index] } ?? Connection_Connection()
        connection.id = connection.id.isEmpty ? "\(configuration.name)-\(index)" : connection.id
        connection.networkService = service.networkService
        var labels = service.labels
        for (key, value) in configuration.labels where labels[key] == nil && !value.isEmpty { labels[key] = value }
        connection.labels = labels
        let mechanism = Connection_Mechanism.kernel(interfaceName: service.interfaceName, namespace: NamespaceURL(configuration.namespaceURL))
        return Networkservice_NetworkServiceRequest(connection: connection, preferences: [mechanism])
    }

    /// The addresses and host routes of the pod's other connections.
    func otherPrefixes(excluding index: Int) -> [IPPrefix] {
        state.withLock { table in
            table.filter { $0.key != index }.values.flatMap { Self.ownedPrefixes($0) }
        }
    }

    static func ownedPrefixes(_ connection: Connection_Connection) -> [IPPrefix] {
        let ip = connection.context.ipContext
        let addresses = ((try? ip.sourcePrefixes()) ?? []) + ((try? ip.destinationPrefixes()) ?? [])
        let routes = (ip.srcRoutes + ip.dstRoutes).compactMap { try? $0.parsedPrefix() }.filter(\.isHost)
        return addresses.map(\.address.hostPrefix) + routes
    }

    /// Requests (or re-requests) service `index` until it succeeds without colliding.
    ///
    /// The first attempt runs beside the pod's other requests. When its answer collides with
    /// another service's prefixes — seen here, or refused by the forwarder's data plane with
    /// `ALREADY_EXISTS` before it touched the pod — the next attempt waits until the other
    /// requests have settled (``RequestGate``) and excludes what they got.
    @discardableResult
    func establish(_ index: Int, reselect: Bool) async throws -> Connection_Connection {
        var extraExclusions: [IPPrefix] = []
        let attempts = 8
        for attempt in 1...attempts {
            let outcome = try await gate.run(exclusive: attempt > 1) { () async throws -> Attempt in
                var request = baseRequest(index)
                if reselect {
                    // A new endpoint assigns its own addresses, routes and DNS.
                    request.connection.context = Connectioncontext_ConnectionContext()
                    request.connection.networkServiceEndpointName = ""
                    request.connection.mechanism = Connection_Mechanism()
                    request.connection.state = .reselectRequested
                }
                for prefix in otherPrefixes(excluding: index) + extraExclusions { request.connection.context.ipContext.addExcluded(prefix) }
                let connection: Connection_Connection
                do {
                    connection = try await chain.request(request, context: ChainContext(logger: logger))
                } catch where attempt < attempts && error.asRPCError.code == .alreadyExists {
                    return .refused(error.asRPCError.message)
                }
                let addresses = ((try? connection.context.ipContext.sourcePrefixes()) ?? []) + ((try? connection.context.ipContext.destinationPrefixes()) ?? [])
                let collision = state.withLock { table -> [IPPrefix] in
                    let others = table.filter { $0.key != index }.values.flatMap { Self.ownedPrefixes($0) }
                    let clash = addresses.filter { address in others.contains { $0.contains(address.address) } }
                    if clash.isEmpty { table[index] = connection }
                    return clash
                }
                if collision.isEmpty { return .established(connection) }
                try? await chain.close(connection, context: ChainContext(logger: logger))
                return .collided(connection, collision)
            }
            switch outcome {
            case .established(let connection):
                reportConnections()
                notifyIfReady()
                return connection
            case .refused(let reason):
                logger.info("the pod holds these prefixes on another service; requesting again once the pod's other requests settle", metadata: [
                    "service": "\(configuration.annotation.services[index].networkService)", "attempt": "\(attempt)", "reason": "\(reason)",
                ])
            case .collided(let connection, let collision):
                logger.info("addresses collide with another service of the pod; requesting again", metadata: [
                    "nsm.connection.id": "\(connection.id)", "attempt": "\(attempt)", "collision": "\(collision)",
                ])
                extraExclusions += Self.ownedPrefixes(connection)
            }
        }
        throw NSMError.resourceExhausted("service \(configuration.annotation.services[index].networkService): every answer collided with the pod's other services")
    }

    /// How one attempt of ``establish(_:reselect:)`` ended.
    enum Attempt: Sendable {
        case established(Connection_Connection)
        /// The data plane refused: the pod holds these prefixes on another connection.
        case refused(String)
        case collided(Connection_Connection, [IPPrefix])
    }

    /// Tells ``Configuration/onConnectionsChange`` the connections held now.
    func reportConnections() {
        guard let report = configuration.onConnectionsChange else { return }
        reporting.withLock { _ in report(connections) }
    }

    func notifyIfReady() {
        guard state.withLock({ $0.count }) == configuration.annotation.services.count else { return }
        for waiter in readyWaiters.withLock({ list in defer { list = [] }; return list }) { waiter.resume() }
    }

    /// Closes every connection (15 s each at most).
    public func closeAll() async {
        let all = state.withLock { table in defer { table = [:] }; return table }
        reportConnections()
        await withTaskGroup(of: Void.self) { group in
            for connection in all.values {
                group.addTask {
                    do { try await self.chain.close(connection, context: ChainContext(logger: self.logger)) } catch {
                        self.logger.info("close failed", metadata: ["nsm.connection.id": "\(connection.id)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
