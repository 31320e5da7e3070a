import Foundation
import GRPCCore
import Logging
import NSMAPI
import NSMAnnotation
import NSMCore
import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// Keeping the connections alive: establish with back-off, refresh before expiry, heal on what
/// the manager's monitor says, report what happens.
extension NSMClient {
    enum Signal: Sendable { case refresh, heal }
    private struct Lost: Error {}

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for index in configuration.annotation.services.indices {
                group.addTask { await self.maintain(index) }
            }
        }
        await closeAll()
    }

    private func maintain(_ index: Int) async {
        // Establish, retrying with back-off until it works or we are told to stop; each new
        // failure is reported once, not every attempt.
        let service = configuration.annotation.services[index].networkService
        var backoff = Backoff(initial: configuration.retryInterval)
        var lastReported: String?
        while !Task.isShuttingDownGracefully, !Task.isCancelled, state.withLock({ $0[index] }) == nil {
            do { try await establish(index, reselect: false) } catch {
                let text = Self.describe(error)
                lastFailure.withLock { $0 = "\(service): \(text)" }
                if text != lastReported {
                    logger.warning("request failed; retrying with back-off", metadata: ["service": "\(service)", "error": "\(text)"])
                    configuration.onEvent?(.requestFailed(service: service, error: text))
                    lastReported = text
                }
                let pause = backoff.next()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
        await reportIgnoredLabels(index)
        let (signals, continuation) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchManager(index, signals: continuation) }
            group.addTask {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.refreshInterval(index)) }
                    continuation.yield(.refresh)
                }
                continuation.finish()
            }
            for await signal in signals.cancelOnGracefulShutdown() {
                await handle(signal, index)
            }
            group.cancelAll()
        }
    }

    private func handle(_ signal: Signal, _ index: Int) async {
        let service = configuration.annotation.services[index].networkService
        var reselect = signal == .heal
        // A pod without its service waits at most 1 s between attempts to get it back.
        var backoff = Backoff(initial: configuration.retryInterval, maximum: .seconds(1))
        if signal == .heal { configuration.onEvent?(.lost(service: service, reason: "its endpoint or path went away")) }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await establish(index, reselect: reselect)
                if signal == .heal {
                    healed.withLock { $0 += 1 }
                    let endpoint = state.withLock { $0[index]?.networkServiceEndpointName ?? "" }
                    logger.info("healed", metadata: ["service": "\(service)", "endpoint": "\(endpoint)"])
                    configuration.onEvent?(.healed(service: service, endpoint: endpoint))
                }
                return
            } catch {
                let text = Self.describe(error)
                if backoff.failures == 0 {
                    logger.warning("\(signal == .heal ? "heal" : "refresh") failed; retrying with a new endpoint", metadata: ["service": "\(service)", "error": "\(text)"])
                    configuration.onEvent?(.requestFailed(service: service, error: text))
                }
                reselect = true
                let pause = backoff.next()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    /// 0.2 × the time to the path's earliest expiry (upstream's scale for a client), at least 100 ms.
    func refreshInterval(_ index: Int) -> Duration {
        guard let connection = state.withLock({ $0[index] }) else { return configuration.retryInterval }
        let expiries = connection.path.pathSegments.filter(\.hasExpires).map { $0.expires.date.timeIntervalSinceNow }
        guard let earliest = expiries.min() else { return .seconds(60) }
        let seconds = max(0.1, earliest * (connection.path.pathSegments.count > 1 ? 0.2 : 1.0 / 3.0))
        return .milliseconds(Int(seconds * 1000))
    }

    /// Subscribes to the manager's monitor for this connection; DOWN, DELETE or a broken
    /// stream send a heal signal, then it subscribes again.
    private func watchManager(_ index: Int, signals: AsyncStream<Signal>.Continuation) async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            guard let connection = state.withLock({ $0[index] }), let own = connection.path.pathSegments.first else { return }
            var selector = Connection_MonitorScopeSelector()
            var segment = Connection_PathSegment()
            segment.id = own.id
            segment.name = own.name
            selector.pathSegments = [segment]
            let lost: Signal?
            let peer = try? pool.peer(for: configuration.managerURL)
            do {
                try await peer?.monitorConnections(selector) { event in
                    // The connection went away or down at the manager: reselect.
                    if event.type == .delete || event.connections.values.contains(where: { $0.state == .down }) { throw Lost() }
                }
                // The stream ended: the manager went away. Re-request the same path first, checking
                // that it is back before each call.
                lost = .refresh
            } catch is Lost {
                lost = .heal
            } catch {
                lost = Task.isCancelled ? nil : .refresh
            }
            peer?.suspect()
            if let lost, !Task.isShuttingDownGracefully, !Task.isCancelled {
                signals.yield(lost)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.retryInterval) }
            }
        }
    }
}
