import Metrics
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
    ///
    /// `why` names the heal for `nsm_heals_total{cause}` and `nsm_heal_duration_seconds{cause}`
    /// (nil for a refresh; a refresh that needs more than one attempt counts as `refresh_failure`,
    /// timed from its first failed attempt).
    func renew(_ id: String, heal: Bool, cause: String = "its endpoint or path went away", unlessAnswering: Bool = false, why: HealCause? = nil) async {
        guard let index = ids.firstIndex(of: id), state.withLock({ $0.connections[index] != nil }) else { return }
        // A liveness heal whose path answers again by now has nothing to heal (checked again
        // when its turn comes, behind another event for the connection).
        if unlessAnswering, dataPathAlive(id) == true { return }
        let service = configuration.annotation.services[index].networkService
        let before = state.withLock { $0.connections[index]?.networkServiceEndpointName }
        if heal { configuration.onEvent?(.lost(service: service, reason: cause)) }
        // Retries keep the path while its data path answers — a probe sent after the failure
        // comes back (a hop of the control plane is away, the interface works); once it does
        // not, they reselect.
        let started = ContinuousClock.now
        let firstFailure = Mutex<ContinuousClock.Instant?>(nil)
        let report = failureReporter(index)
        let retrying = RetryElement.Retrying(
            backoff: Backoff(initial: configuration.retryInterval, maximum: .seconds(1)),
            onFailure: { text in
                firstFailure.withLock { if $0 == nil { $0 = .now } }
                report(text)
            },
            reselect: { [weak self] in
                guard !heal, let self else { return true }
                return await dataPathAnswers(id, since: .now) != true
            })
        let renewed = try? await request(index, reselect: heal, retrying: retrying, unlessAnswering: unlessAnswering)
        if renewed != nil {
            if let why {
                HealCause.record(why, since: started)
            } else if let failed = firstFailure.withLock({ $0 }) {
                HealCause.record(.refreshFailure, since: failed)
            }
        }
        guard let connection = renewed, heal, !unlessAnswering || connection.networkServiceEndpointName != before else { return }
        state.withLock { $0.healed += 1 }
        logger.info("healed", metadata: ["nsm.connection.id": "\(id)", "service": "\(service)", "endpoint": "\(connection.networkServiceEndpointName)"])
        configuration.onEvent?(.healed(service: service, endpoint: connection.networkServiceEndpointName))
    }

    /// The manager's monitor said connection `id` is gone (``HealMonitor/Cause/lost``) or its
    /// stream broke. A lost connection whose data path still answers is requested again along
    /// its path — the control plane lost it (a node restarted), the pod's traffic did not stop,
    /// and reselecting would tear the interface down — as upstream heals with the data plane
    /// alive; otherwise it is healed with a new endpoint.
    func controlPlaneLost(_ id: String, cause: HealMonitor.Cause) async {
        var reselect = cause == .lost
        if reselect, await dataPathAnswers(id, since: .now) == true {
            logger.info("connection lost by the control plane, its data path answers: requesting the same path again", metadata: ["nsm.connection.id": "\(id)"])
            reselect = false
        }
        await renew(id, heal: reselect, why: reselect ? .endpointGone : .controlPlane)
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

/// Why a client healed a connection, as `nsm_heals_total` and `nsm_heal_duration_seconds` label it.
enum HealCause: String, Sendable {
    /// The manager's monitor said the connection is gone and its data path is silent: reselected.
    case endpointGone = "endpoint_gone"
    /// The monitor stream broke, or the connection was lost while its data path answers: the same path requested again.
    case controlPlane = "control_plane"
    /// The liveness check found the data path silent.
    case dataPath = "data_path"
    /// A refresh failed and was retried until it succeeded.
    case refreshFailure = "refresh_failure"

    static func record(_ cause: HealCause, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        Counter(label: "nsm_heals_total", dimensions: [("cause", cause.rawValue)]).increment()
        Timer(label: "nsm_heal_duration_seconds", dimensions: [("cause", cause.rawValue)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
