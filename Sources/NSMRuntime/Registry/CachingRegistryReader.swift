import Foundation
import Logging
public import NSMAPI
public import NSMCore
import NSMRegistry
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// A ``RegistryReader`` that answers from memory, kept current by watching the registry
/// (`Find` with `watch`, for all network services and all endpoints). Request-path lookups then
/// cost no round trip; until the first snapshot has arrived, and whenever a watch is broken,
/// lookups go to the registry directly.
///
/// While the registry is away (a broken watch, and the direct lookup fails too) it answers from
/// the last view it had, marked stale: refreshes of live connections and reselection onto
/// endpoints registered before the outage go on, however long it lasts. Stale entries do not
/// expire — their endpoints cannot refresh a registration while the registry is gone. The next
/// watch replaces the stale view. Runs as a Service (the watches live in `run()`).
public final class CachingRegistryReader: RegistryReader, Service, Sendable {
    private struct State {
        var services: [String: Registry_NetworkService] = [:]
        var endpoints: [String: Registry_NetworkServiceEndpoint] = [:]
        var servicesLive = false
        var endpointsLive = false
        /// The last views before a watch broke, answered from while the registry is away.
        var staleServices: [String: Registry_NetworkService] = [:]
        var staleEndpoints: [String: Registry_NetworkServiceEndpoint] = [:]
    }

    let upstream: RegistryClient
    let logger: Logger
    private let state = Mutex(State())

    public init(upstream: RegistryClient, logger: Logger) {
        self.upstream = upstream
        self.logger = logger
    }

    public func networkService(named name: String) async throws -> Registry_NetworkService? {
        // A miss may be a registration the watch has not delivered yet: ask the registry.
        if let cached = state.withLock({ $0.servicesLive ? $0.services[name] : nil }) { return cached }
        do {
            return try await upstream.networkService(named: name)
        } catch {
            guard let stale = state.withLock({ $0.servicesLive ? nil : $0.staleServices[name] }) else { throw error }
            logger.debug("registry unreachable; answering from the last view", metadata: ["service": "\(name)", "error": "\(error)"])
            return stale
        }
    }

    /// Whether lookups are answered from a live watch (false while the registry is away).
    public var isLive: Bool { state.withLock { $0.servicesLive && $0.endpointsLive } }

    public func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        let now = Date()
        let cached = state.withLock { state -> [Registry_NetworkServiceEndpoint]? in
            guard state.endpointsLive else { return nil }
            return state.endpoints.values.filter {
                RegistryQuery.matches($0, query: query) && !($0.hasExpirationTime && $0.expirationTime.date <= now)
            }.sorted { $0.name < $1.name }
        }
        if let cached, !cached.isEmpty { return cached }
        do {
            return try await upstream.findEndpoints(query)
        } catch {
            let stale = state.withLock { state -> [Registry_NetworkServiceEndpoint] in
                guard !state.endpointsLive else { return [] }
                return state.staleEndpoints.values.filter { RegistryQuery.matches($0, query: query) }.sorted { $0.name < $1.name }
            }
            guard !stale.isEmpty else { throw error }
            logger.debug("registry unreachable; answering from the last view", metadata: ["found": "\(stale.count)", "error": "\(error)"])
            // Their registrations cannot be refreshed while the registry is gone: they do not expire meanwhile.
            return stale.map { endpoint in
                var endpoint = endpoint
                endpoint.clearExpirationTime()
                return endpoint
            }
        }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follow(services: true) }
            group.addTask { await self.follow(services: false) }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func follow(services: Bool) async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                if services {
                    try await upstream.watchServices(Registry_NetworkService()) { response in
                        self.state.withLock { state in
                            if response.deleted { state.services.removeValue(forKey: response.networkService.name) }
                            else { state.services[response.networkService.name] = response.networkService }
                            state.servicesLive = true
                            state.staleServices = [:]
                        }
                    }
                } else {
                    try await upstream.watchEndpoints(Registry_NetworkServiceEndpoint()) { response in
                        self.state.withLock { state in
                            let endpoint = response.networkServiceEndpoint
                            if response.deleted { state.endpoints.removeValue(forKey: endpoint.name) }
                            else { state.endpoints[endpoint.name] = endpoint }
                            state.endpointsLive = true
                            state.staleEndpoints = [:]
                        }
                    }
                }
            } catch {
                logger.debug("registry watch broken; answering from the registry until it is back", metadata: ["error": "\(error)"])
            }
            // Stream ended: the view is stale until the next watch delivers (kept for when the
            // registry cannot be reached meanwhile).
            let wentStale = state.withLock { state -> Bool in
                if services {
                    defer { state.servicesLive = false; state.services = [:] }
                    state.staleServices.merge(state.services) { _, new in new }
                    return state.servicesLive
                }
                defer { state.endpointsLive = false; state.endpoints = [:] }
                state.staleEndpoints.merge(state.endpoints) { _, new in new }
                return state.endpointsLive
            }
            if wentStale {
                logger.info("registry watch broken; serving the last known view (stale) while the registry is away",
                            metadata: ["kind": "\(services ? "network services" : "endpoints")"])
            }
            // Watched until now: try again soon; failing to watch: back off (200 ms to 5 s).
            if wentStale { backoff.reset() }
            try? await Task.sleep(for: backoff.next())
        }
    }
}
