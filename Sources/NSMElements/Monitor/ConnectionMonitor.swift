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
            return state.subscribers.values.filter { $0.selector.matches(connection) }.map(\.continuation)
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
            state.subscribers[id] = Subscriber(selector: selector, continuation: continuation)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Number of live subscriptions (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}
