import SwiftProtobuf
import Foundation
import Logging
public import NSMAPI
public import NSMCore
public import ServiceLifecycle
import Synchronization

/// Closes connections whose previous hop stopped refreshing them: each connection has a
/// deadline (the previous segment's expiry); when it passes, the connection is closed through
/// the hop's own chain, as if its client had closed it. Runs as a Service (no stray tasks).
public final class TimeoutScheduler: Service, Sendable {
    private struct State {
        var deadlines: [String: (deadline: Date, connection: Connection_Connection)] = [:]
        var chain: NetworkServiceChain?
        var logger = Logger(label: "nsm.timeout")
    }
    private let state = Mutex(State())
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    /// The chain whose Close runs on expiry (set once the chain that contains the element exists).
    public func attach(chain: NetworkServiceChain, logger: Logger) {
        state.withLock {
            $0.chain = chain
            $0.logger = logger
        }
    }

    public func arm(_ connection: Connection_Connection, deadline: Date) {
        state.withLock { $0.deadlines[connection.id] = (deadline, connection) }
    }

    public func disarm(_ id: String) { state.withLock { _ = $0.deadlines.removeValue(forKey: id) } }

    /// Closes every connection past its deadline; returns their ids.
    @discardableResult
    public func fire() async -> [String] {
        let current = now()
        let (due, chain, hopLogger) = state.withLock { state in
            let due = state.deadlines.filter { $0.value.deadline <= current }
            for id in due.keys { state.deadlines.removeValue(forKey: id) }
            return (due.values.map(\.connection), state.chain, state.logger)
        }
        for connection in due {
            let logger = hopLogger.about(connection: connection.id)
            logger.info("connection expired without refresh; closing")
            try? await chain?.close(connection, context: ChainContext(logger: logger))
        }
        return due.map(\.id)
    }

    /// Closes connection `id` through the chain now, if it is held; true if it was.
    @discardableResult
    public func closeNow(_ id: String, reason: String) async -> Bool {
        let (entry, chain, hopLogger) = state.withLock { state in (state.deadlines.removeValue(forKey: id), state.chain, state.logger) }
        guard let entry else { return false }
        let logger = hopLogger.about(connection: id)
        logger.info("closing connection: \(reason)")
        try? await chain?.close(entry.connection, context: ChainContext(logger: logger))
        return true
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await fire()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
        }
    }
}
