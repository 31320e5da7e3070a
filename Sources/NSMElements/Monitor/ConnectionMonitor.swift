import Foundation
public import NSMAPI
import Synchronization

/// The connections a hop holds, and the subscribers who watch them (`MonitorConnections`).
///
/// A new subscriber first receives an `INITIAL_STATE_TRANSFER` of the matching connections,
/// then an `UPDATE` for each change and a `DELETE` for each close.
public final class ConnectionMonitor: Sendable {
    private struct Subscriber {
        var selector: Connection_MonitorScopeSelector
        var continuation: AsyncStream<Connection_ConnectionEvent>.Continuation
    }

    private struct State {
        var connections: [String: Connection_Connection] = [:]
        var subscribers: [UUID: Subscriber] = [:]
        /// Subscribers by what their selector's first segment requires (`id:…`, else `name:…`);
        /// a connection can only match those keyed by one of its segments' ids or names.
        var byKey: [String: Set<UUID>] = [:]
        /// Subscribers whose first segment requires neither (or who select no segments).
        var unkeyed: Set<UUID> = []

        mutating func add(_ subscriber: Subscriber, id: UUID) {
            subscribers[id] = subscriber
            if let key = ConnectionMonitor.key(of: subscriber.selector) { byKey[key, default: []].insert(id) } else { unkeyed.insert(id) }
        }

        mutating func remove(_ id: UUID) {
            guard let subscriber = subscribers.removeValue(forKey: id) else { return }
            if let key = ConnectionMonitor.key(of: subscriber.selector) {
                byKey[key]?.remove(id)
                if byKey[key]?.isEmpty == true { byKey[key] = nil }
            } else {
                unkeyed.remove(id)
            }
        }

        /// The subscribers `connection` matches: candidates from the index, then the full check —
        /// the cost follows the path's length, not the number of subscribers.
        func targets(_ connection: Connection_Connection) -> [AsyncStream<Connection_ConnectionEvent>.Continuation] {
            var candidates = unkeyed
            for segment in connection.path.pathSegments {
                if let ids = byKey["id:" + segment.id] { candidates.formUnion(ids) }
                if let ids = byKey["name:" + segment.name] { candidates.formUnion(ids) }
            }
            return candidates.compactMap { subscribers[$0] }.filter { $0.selector.matches(connection) }.map(\.continuation)
        }
    }

    static func key(of selector: Connection_MonitorScopeSelector) -> String? {
        guard let first = selector.pathSegments.first else { return nil }
        if !first.id.isEmpty { return "id:" + first.id }
        if !first.name.isEmpty { return "name:" + first.name }
        return nil
    }

    private let state = Mutex(State())

    public init() {}

    /// Connections currently held, by id.
    public var connections: [String: Connection_Connection] { state.withLock { $0.connections } }

    /// Records a new or changed connection and tells the subscribers.
    public func update(_ connection: Connection_Connection) {
        publish(connection, type: .update) { $0.connections[connection.id] = connection }
    }

    /// Forgets a connection and tells the subscribers.
    public func delete(_ connection: Connection_Connection) {
        publish(connection, type: .delete) { $0.connections.removeValue(forKey: connection.id) }
    }

    private func publish(_ connection: Connection_Connection, type: Connection_ConnectionEventType, change: (inout State) -> Void) {
        let targets = state.withLock { state -> [AsyncStream<Connection_ConnectionEvent>.Continuation] in
            change(&state)
            return state.targets(connection)
        }
        var event = Connection_ConnectionEvent()
        event.type = type
        event.connections = [connection.id: connection]
        for continuation in targets { continuation.yield(event) }
    }

    /// Subscribes: the stream starts with the initial state transfer and ends when the
    /// consumer stops iterating (or the task is cancelled).
    public func subscribe(_ selector: Connection_MonitorScopeSelector) -> AsyncStream<Connection_ConnectionEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: Connection_ConnectionEvent.self, bufferingPolicy: .bufferingNewest(4096))
        state.withLock { state in
            var initial = Connection_ConnectionEvent()
            initial.type = .initialStateTransfer
            initial.connections = state.connections.filter { selector.matches($0.value) }
            continuation.yield(initial)
            state.add(Subscriber(selector: selector, continuation: continuation), id: id)
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { $0.remove(id) }
        }
        return stream
    }

    /// Number of live subscriptions (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}
