import NSMAnnotation
import Synchronization
import Logging
import NSMAPI
import NSMCore
import NSMElements
import ServiceLifecycle

/// Running the client: every service requested until it connects, then kept by the chain's
/// refresh and heal elements (their schedulers run here); everything closed at graceful shutdown.
extension NSMClient {
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.deliverReports() }
            await withDiscardingTaskGroup { maintained in
                maintained.addTask { try? await self.refreshes.run() }
                maintained.addTask { try? await self.heals.run() }
                if let liveness = configuration.liveness { maintained.addTask { await self.watchDataPaths(liveness) } }
                for index in ids.indices {
                    maintained.addTask { await self.establish(index) }
                }
            }
            await closeAll()
            reportsContinuation.finish()
        }
    }

    private func deliverReports() async {
        for await connections in reports { configuration.onConnectionsChange?(connections) }
    }

    /// Requests service `index` until it connects or the client stops.
    private func establish(_ index: Int) async {
        let retrying = RetryElement.Retrying(backoff: Backoff(initial: configuration.retryInterval), onFailure: failureReporter(index))
        do { try await request(index, reselect: false, retrying: retrying) } catch { return }
        await reportIgnoredLabels(index)
    }

    /// Requests connection `id` again: a refresh along the same path, or a heal that reselects.
    /// A pod without its service waits at most 1 s between attempts to get it back.
    func renew(_ id: String, heal: Bool, cause: String = "its endpoint or path went away") async {
        guard let index = ids.firstIndex(of: id), state.withLock({ $0.connections[index] != nil }) else { return }
        let service = configuration.annotation.services[index].networkService
        if heal { configuration.onEvent?(.lost(service: service, reason: cause)) }
        let retrying = RetryElement.Retrying(backoff: Backoff(initial: configuration.retryInterval, maximum: .seconds(1)), onFailure: failureReporter(index))
        guard let connection = try? await request(index, reselect: heal, retrying: retrying), heal else { return }
        state.withLock { $0.healed += 1 }
        logger.info("healed", metadata: ["service": "\(service)", "endpoint": "\(connection.networkServiceEndpointName)"])
        configuration.onEvent?(.healed(service: service, endpoint: connection.networkServiceEndpointName))
    }

    private func failureReporter(_ index: Int) -> @Sendable (String) -> Void {
        let service = configuration.annotation.services[index].networkService
        return { [weak self] text in
            guard let self else { return }
            state.withLock { $0.lastFailure = "\(service): \(text)" }
            configuration.onEvent?(.requestFailed(service: service, error: text))
        }
    }
}
