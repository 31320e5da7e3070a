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
/// lookups go to the registry directly. Runs as a Service (the watches live in `run()`).
public final class CachingRegistryReader: RegistryReader, Service, Sendable {
    private struct State {
        var services: [String: Registry_NetworkService] = [:]
        var endpoints: [String: Registry_NetworkServiceEndpoint] = [:]
        var servicesLive = false
        var endpointsLive = false
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
        return try await upstream.networkService(named: name)
    }

    public func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        let now = Date()
        let cached = state.withLock { state -> [Registry_NetworkServiceEndpoint]? in
            guard state.endpointsLive else { return nil }
            return state.endpoints.values.filter {
                RegistryQuery.matches($0, query: query) && !($0.hasExpirationTime && $0.expirationTime.date <= now)
            }.sorted { $0.name < $1.name }
        }
        if let cached, !cached.isEmpty { return cached }
        return try await upstream.findEndpoints(query)
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
        while !Task.isCancelled {
            do {
                if services {
                    try await upstream.watchServices(Registry_NetworkService()) { response in
                        self.state.withLock { state in
                            if response.deleted { state.services.removeValue(forKey: response.networkService.name) }
                            else { state.services[response.networkService.name] = response.networkService }
                            state.servicesLive = true
                        }
                    }
                } else {
                    try await upstream.watchEndpoints(Registry_NetworkServiceEndpoint()) { response in
                        self.state.withLock { state in
                            let endpoint = response.networkServiceEndpoint
                            if response.deleted { state.endpoints.removeValue(forKey: endpoint.name) }
                            else { state.endpoints[endpoint.name] = endpoint }
                            state.endpointsLive = true
                        }
                    }
                }
            } catch {
                logger.debug("registry watch broken; answering from the registry until it is back", metadata: ["error": "\(error)"])
            }
            // Stream ended: stop trusting the cache until the next watch delivers.
            state.withLock { state in
                if services { state.servicesLive = false; state.services = [:] } else { state.endpointsLive = false; state.endpoints = [:] }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
