import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
public import NSMAPI
public import NSMCore
public import NSMElements
public import ServiceLifecycle
import Synchronization

/// Watches the next hop's `MonitorConnections` for each connection a passthrough hop holds,
/// and marks the connection DOWN in this hop's monitor when the next hop reports it DOWN or
/// deleted, or when the stream breaks (the next hop died). That is how an endpoint's death
/// reaches the client, hop by hop, as in upstream. Watches run in this service's task group.
public final class MonitorRelay: Service, Sendable {
    struct Watch: Sendable {
        var url: NSMURL
        var connection: Connection_Connection
        var selfSegment: Connection_PathSegment
    }

    private let pool: GRPCClientPool
    private let monitor: ConnectionMonitor
    private let logger: Logger
    private let active = Mutex<[String: Int]>([:])  // connection id -> generation
    private let requests: AsyncStream<(Watch, Int)>
    private let requestsContinuation: AsyncStream<(Watch, Int)>.Continuation

    public init(pool: GRPCClientPool, monitor: ConnectionMonitor, logger: Logger) {
        self.pool = pool
        self.monitor = monitor
        self.logger = logger
        (requests, requestsContinuation) = AsyncStream.makeStream()
    }

    /// Starts (or restarts) watching `connection` at `url`.
    public func watch(_ connection: Connection_Connection, at url: NSMURL) {
        guard let segment = connection.currentPathSegment else { return }
        let generation = active.withLock { table -> Int in
            let next = (table[connection.id] ?? 0) + 1
            table[connection.id] = next
            return next
        }
        requestsContinuation.yield((Watch(url: url, connection: connection, selfSegment: segment), generation))
    }

    /// Stops reacting to the next hop for `id` (e.g. before closing it downstream).
    public func unwatch(_ id: String) { active.withLock { _ = $0.removeValue(forKey: id) } }

    private func isCurrent(_ id: String, _ generation: Int) -> Bool { active.withLock { $0[id] == generation } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.requestsContinuation.finish()
            }
            for await (watch, generation) in requests.cancelOnGracefulShutdown() {
                group.addTask { await self.follow(watch, generation: generation) }
            }
            group.cancelAll()
        }
    }

    private func follow(_ watch: Watch, generation: Int) async {
        var selector = Connection_MonitorScopeSelector()
        var segment = Connection_PathSegment()
        segment.id = watch.selfSegment.id
        segment.name = watch.selfSegment.name
        selector.pathSegments = [segment]
        var lost = false
        do {
            let client = Connection_MonitorConnection.Client(wrapping: try pool.client(for: watch.url))
            lost = try await client.monitorConnections(selector) { response in
                for try await event in response.messages {
                    guard self.isCurrent(watch.connection.id, generation) else { return false }
                    if event.type == .initialStateTransfer, event.connections.isEmpty { return true }
                    for connection in event.connections.values where event.type == .delete || connection.state == .down {
                        _ = connection
                        return true
                    }
                }
                return true
            }
        } catch {
            lost = true
        }
        guard lost, isCurrent(watch.connection.id, generation), Task.isCancelled == false else { return }
        unwatch(watch.connection.id)
        if var known = monitor.connections[watch.connection.id] {
            logger.info("next hop lost the connection; marking it down", metadata: ["nsm.connection.id": "\(known.id)", "next": "\(watch.url)"])
            known.state = .down
            monitor.update(known)
        }
    }
}

/// Starts a ``MonitorRelay`` watch after each successful Request (toward the URL the request
/// went to) and stops it on Close.
public struct MonitorRelayElement: NetworkServiceElement {
    let relay: MonitorRelay
    let nextURL: @Sendable (Networkservice_NetworkServiceRequest, ChainContext) -> NSMURL?

    public init(relay: MonitorRelay, nextURL: @escaping @Sendable (Networkservice_NetworkServiceRequest, ChainContext) -> NSMURL?) {
        self.relay = relay
        self.nextURL = nextURL
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let connection = try await next.request(request, context: context)
        if let url = nextURL(request, context) ?? nextURL(Networkservice_NetworkServiceRequest(connection: connection, preferences: []), context) {
            relay.watch(connection, at: url)
        }
        return connection
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        relay.unwatch(connection.id)
        try await next.close(connection, context: context)
    }
}
