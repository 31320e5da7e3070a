public import NSMAPI
public import NSMCore
public import ServiceLifecycle
import Synchronization

/// Follows the manager's monitor for each connection a client holds (one stream per
/// connection, selected by the client's own path segment) and tells the client when to heal:
/// ``Cause/lost`` when the manager reports the connection DOWN or deleted (its endpoint or path
/// went away: reselect), ``Cause/streamBroke`` when the stream ends (the manager went away:
/// request the same path again). It then follows the connection again. Streams run in this
/// service's task group.
public final class HealMonitor: Service, Sendable {
    public enum Cause: Sendable, Equatable { case lost, streamBroke }
    public typealias Heal = @Sendable (String, Cause) async -> Void

    private struct State {
        var watched: [String: Connection_PathSegment] = [:]
        var heal: Heal?
    }

    private struct Lost: Error {}

    let url: NSMURL
    let dialer: any NetworkServiceDialer
    let pause: Duration
    private let state = Mutex(State())
    private let started: AsyncStream<String>
    private let startedContinuation: AsyncStream<String>.Continuation

    /// - Parameter pause: the wait after each heal before following the connection again.
    public init(url: NSMURL, dialer: any NetworkServiceDialer, pause: Duration = .milliseconds(200)) {
        self.url = url
        self.dialer = dialer
        self.pause = pause
        (started, startedContinuation) = AsyncStream.makeStream()
    }

    public func attach(_ heal: @escaping Heal) { state.withLock { $0.heal = heal } }

    /// Follows `connection` from now on (once per id, whatever the number of Requests).
    public func watch(_ connection: Connection_Connection) {
        guard let own = connection.path.pathSegments.first else { return }
        var segment = Connection_PathSegment()
        segment.id = own.id
        segment.name = own.name
        let new = state.withLock { $0.watched.updateValue(segment, forKey: connection.id) == nil }
        if new { startedContinuation.yield(connection.id) }
    }

    public func unwatch(_ id: String) { state.withLock { _ = $0.watched.removeValue(forKey: id) } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await id in started.cancelOnGracefulShutdown() {
                group.addTask { await self.follow(id) }
            }
            group.cancelAll()
        }
    }

    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    private func follow(_ id: String) async {
        while !stopping, let segment = state.withLock({ $0.watched[id] }) {
            var selector = Connection_MonitorScopeSelector()
            selector.pathSegments = [segment]
            let peer = try? await dialer.peer(for: url)
            var cause = Cause.streamBroke
            do {
                try await peer?.monitorConnections(selector) { event in
                    if event.type == .delete || event.connections.values.contains(where: { $0.state == .down }) { throw Lost() }
                }
            } catch is Lost {
                cause = .lost
            } catch {}
            peer?.suspect()
            guard !stopping, let heal = state.withLock({ $0.watched[id] == nil ? nil : $0.heal }) else { return }
            await heal(id, cause)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pause) }
        }
    }
}
