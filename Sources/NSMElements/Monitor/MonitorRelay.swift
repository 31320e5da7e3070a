public import Logging
public import NSMAPI
public import NSMCore
public import ServiceLifecycle
import Synchronization

/// Watches the next hops' `MonitorConnections` for the connections a passthrough hop holds,
/// and marks a connection DOWN in this hop's monitor when its next hop reports it DOWN or
/// deleted, or when the stream to that next hop breaks (the next hop died). That is how an
/// endpoint's death reaches the client, hop by hop, as in upstream.
///
/// One stream per next hop (selector: this hop's segment name), not one per connection, so
/// the cost does not grow with the number of connections. Streams run in this service's task group.
public final class MonitorRelay: Service, Sendable {
    private struct State {
        var urlByID: [String: NSMURL] = [:]
        var following: Set<NSMURL> = []
    }

    private let dialer: any NetworkServiceDialer
    private let monitor: ConnectionMonitor
    private let logger: Logger
    private let hopName: String
    private let state = Mutex(State())
    private let requests: AsyncStream<NSMURL>
    private let requestsContinuation: AsyncStream<NSMURL>.Continuation

    private let onLost: (@Sendable (Connection_Connection) async -> Void)?

    /// - Parameter onLost: runs for each lost connection (this hop's view) before it is marked
    ///   DOWN, e.g. to close it here when the next hop was its endpoint and is gone.
    public init(
        hopName: String, dialer: any NetworkServiceDialer, monitor: ConnectionMonitor, logger: Logger,
        onLost: (@Sendable (Connection_Connection) async -> Void)? = nil
    ) {
        self.hopName = hopName
        self.dialer = dialer
        self.monitor = monitor
        self.logger = logger
        self.onLost = onLost
        (requests, requestsContinuation) = AsyncStream.makeStream()
    }

    /// Starts watching `connection` (this hop's id) at next hop `url`.
    public func watch(_ connection: Connection_Connection, at url: NSMURL) {
        let start = state.withLock { state -> Bool in
            state.urlByID[connection.id] = url
            return state.following.insert(url).inserted
        }
        if start { requestsContinuation.yield(url) }
    }

    /// Stops reacting to the next hop for `id` (e.g. before closing it downstream).
    public func unwatch(_ id: String) { state.withLock { _ = $0.urlByID.removeValue(forKey: id) } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.requestsContinuation.finish()
            }
            for await url in requests.cancelOnGracefulShutdown() {
                group.addTask { await self.follow(url) }
            }
            group.cancelAll()
        }
    }

    private func follow(_ url: NSMURL) async {
        var selector = Connection_MonitorScopeSelector()
        var segment = Connection_PathSegment()
        segment.name = hopName
        selector.pathSegments = [segment]
        let peer = try? await dialer.peer(for: url)
        do {
            try await peer?.monitorConnections(selector) { event in
                guard event.type != .initialStateTransfer else { return }
                for connection in event.connections.values where event.type == .delete || connection.state == .down {
                    if let mine = connection.path.pathSegments.first(where: { $0.name == self.hopName })?.id {
                        await self.lose([mine], at: url, reason: event.type == .delete ? "deleted" : "down")
                    }
                }
            }
        } catch {}
        // The stream ended: the next hop is gone (or shutting down). Everything we watched there is lost,
        // and the next call to it should check first that it is alive.
        peer?.suspect()
        let lost = state.withLock { state -> [String] in
            state.following.remove(url)
            return state.urlByID.filter { $0.value == url }.map(\.key)
        }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        await lose(lost, at: url, reason: "stream to the next hop broke")
    }

    private func lose(_ ids: [String], at url: NSMURL, reason: String) async {
        let current = state.withLock { state -> [String] in
            let mine = ids.filter { state.urlByID[$0] == url }
            for id in mine { state.urlByID.removeValue(forKey: id) }
            return mine
        }
        // All at once: an endpoint dying with a hundred connections must not have them closed
        // one after the other while their pods wait.
        if let onLost {
            await withDiscardingTaskGroup { group in
                for id in current {
                    guard let known = monitor.connections[id] else { continue }
                    group.addTask { await onLost(known) }
                }
            }
        }
        for id in current {
            guard var known = monitor.connections[id] else { continue }
            logger.info("next hop lost the connection; marking it down", metadata: ["nsm.connection.id": "\(id)", "next": "\(url)", "reason": "\(reason)"])
            known.state = .down
            monitor.update(known)
        }
    }
}
