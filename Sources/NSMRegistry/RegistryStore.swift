import Foundation
import Metrics
public import NSMAPI
public import NSMCore
import SwiftProtobuf
import Synchronization

/// The in-memory registry: network services and endpoints, with watches and NSE expiry.
///
/// Storage sits behind ``RegistryStorage`` so a Kubernetes CRD store can replace it.
public final class RegistryStore: RegistryStorage, Sendable {
    private struct Watcher<Response> {
        var matches: @Sendable (Response) -> Bool
        var continuation: AsyncStream<Response>.Continuation
    }

    private struct State {
        var services: [String: Registry_NetworkService] = [:]
        var endpoints: [String: Registry_NetworkServiceEndpoint] = [:]
        var serviceWatchers: [UUID: Watcher<Registry_NetworkServiceResponse>] = [:]
        var endpointWatchers: [UUID: Watcher<Registry_NetworkServiceEndpointResponse>] = [:]
    }

    private let state = Mutex(State())
    /// `nsm_registry_entries{kind}` and `nsm_registry_watchers{kind}`, kind `network_service` or
    /// `network_service_endpoint` (through swift-metrics; recorded on every change).
    private let gauges = (
        services: Gauge(label: "nsm_registry_entries", dimensions: [("kind", "network_service")]),
        endpoints: Gauge(label: "nsm_registry_entries", dimensions: [("kind", "network_service_endpoint")]),
        serviceWatchers: Gauge(label: "nsm_registry_watchers", dimensions: [("kind", "network_service")]),
        endpointWatchers: Gauge(label: "nsm_registry_watchers", dimensions: [("kind", "network_service_endpoint")])
    )
    /// How long an endpoint registration lasts unless re-registered (upstream default 1 minute).
    public let expirePeriod: TimeInterval
    let now: @Sendable () -> Date

    public init(expirePeriod: TimeInterval = 60, now: @escaping @Sendable () -> Date = { Date() }) {
        self.expirePeriod = expirePeriod
        self.now = now
    }

    /// Records the entry and watcher counts.
    private func recordSizes() {
        let (services, endpoints, serviceWatchers, endpointWatchers) = state.withLock {
            ($0.services.count, $0.endpoints.count, $0.serviceWatchers.count, $0.endpointWatchers.count)
        }
        gauges.services.record(services)
        gauges.endpoints.record(endpoints)
        gauges.serviceWatchers.record(serviceWatchers)
        gauges.endpointWatchers.record(endpointWatchers)
    }

    // MARK: Network services

    public func register(_ service: Registry_NetworkService) throws(NSMError) -> Registry_NetworkService {
        guard !service.name.isEmpty else { throw .invalidArgument("network service name must not be empty") }
        var service = service
        if service.payload.isEmpty { service.payload = Payload.ip }
        let stored = service
        notifyServices(stored, deleted: false) { $0.services[stored.name] = stored }
        return stored
    }

    public func unregister(_ service: Registry_NetworkService) throws(NSMError) {
        guard !service.name.isEmpty else { throw .invalidArgument("network service name must not be empty") }
        guard let removed = state.withLock({ $0.services[service.name] }) else { return }
        notifyServices(removed, deleted: true) { $0.services.removeValue(forKey: service.name) }
    }

    public func findServices(_ query: Registry_NetworkService) -> [Registry_NetworkService] {
        state.withLock { $0.services.values.filter { RegistryQuery.matches($0, query: query) } }.sorted { $0.name < $1.name }
    }

    /// Current matches first, then changes (`deleted` for removals) until the consumer stops.
    public func watchServices(_ query: Registry_NetworkService) -> AsyncStream<Registry_NetworkServiceResponse> {
        let id = UUID()
        let (stream, continuation) = state.withLock { state in
            let matching = state.services.values.sorted(by: { $0.name < $1.name }).filter { RegistryQuery.matches($0, query: query) }
            let (stream, continuation) = AsyncStream.makeStream(
                of: Registry_NetworkServiceResponse.self, bufferingPolicy: .bufferingOldest(matching.count + Self.watchBacklog))
            for service in matching { continuation.yield(.with { $0.networkService = service }) }
            state.serviceWatchers[id] = Watcher(matches: { RegistryQuery.matches($0.networkService, query: query) }, continuation: continuation)
            return (stream, continuation)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.serviceWatchers.removeValue(forKey: id) }
            self?.recordSizes()
        }
        recordSizes()
        return stream
    }

    /// How many changes a watcher may fall behind. One further behind is ended — it watches
    /// again and gets a fresh snapshot — rather than left to miss changes without knowing.
    public static let watchBacklog = 4096

    /// Yields `response`; a watcher whose backlog is full is ended (it watches again).
    static func deliver<Response: Sendable>(_ response: Response, to continuation: AsyncStream<Response>.Continuation) {
        if case .dropped = continuation.yield(response) { continuation.finish() }
    }

    private func notifyServices(_ service: Registry_NetworkService, deleted: Bool, change: (inout State) -> Void) {
        let response = Registry_NetworkServiceResponse.with { $0.networkService = service; $0.deleted = deleted }
        let targets = state.withLock { state in
            change(&state)
            return state.serviceWatchers.values.filter { $0.matches(response) }.map(\.continuation)
        }
        recordSizes()
        for continuation in targets { Self.deliver(response, to: continuation) }
    }

    // MARK: Endpoints

    public func register(_ endpoint: Registry_NetworkServiceEndpoint) throws(NSMError) -> Registry_NetworkServiceEndpoint {
        let stored = try prepared(endpoint)
        notifyEndpoints(stored, deleted: false) { $0.endpoints[stored.name] = stored }
        return stored
    }

    /// `endpoint` as a registration stores it: a name when it has none, its URL checked, its
    /// expiry within the period from now, its first registration time kept.
    public func prepared(_ endpoint: Registry_NetworkServiceEndpoint) throws(NSMError) -> Registry_NetworkServiceEndpoint {
        var endpoint = endpoint
        if endpoint.name.isEmpty { endpoint.name = "nse-" + UUID().uuidString.lowercased() }
        guard !endpoint.url.isEmpty else {
            throw .invalidArgument("network service endpoint \"\(endpoint.name)\" has no url; expected unix:///path or tcp://host:port")
        }
        _ = try NSMURL(endpoint.url)
        let current = now()
        let limit = current.addingTimeInterval(expirePeriod)
        if !endpoint.hasExpirationTime || endpoint.expirationTime.date > limit || endpoint.expirationTime.date <= current {
            endpoint.expirationTime = Google_Protobuf_Timestamp(date: limit)
        }
        return state.withLock { state -> Registry_NetworkServiceEndpoint in
            var stored = endpoint
            if let existing = state.endpoints[endpoint.name], existing.hasInitialRegistrationTime {
                stored.initialRegistrationTime = existing.initialRegistrationTime
            } else if !stored.hasInitialRegistrationTime {
                stored.initialRegistrationTime = Google_Protobuf_Timestamp(date: current)
            }
            return stored
        }
    }

    /// Stores or removes `endpoint` exactly as given, telling watchers (a view kept by another
    /// store, e.g. of Kubernetes objects, whose registrations already went through ``prepared(_:)``).
    public func mirror(_ endpoint: Registry_NetworkServiceEndpoint, deleted: Bool) {
        if deleted {
            guard state.withLock({ $0.endpoints[endpoint.name] }) != nil else { return }
            notifyEndpoints(endpoint, deleted: true) { $0.endpoints.removeValue(forKey: endpoint.name) }
        } else {
            guard state.withLock({ $0.endpoints[endpoint.name] }) != endpoint else { return }
            notifyEndpoints(endpoint, deleted: false) { $0.endpoints[endpoint.name] = endpoint }
        }
    }

    /// ``mirror(_:deleted:)`` for a network service.
    public func mirror(_ service: Registry_NetworkService, deleted: Bool) {
        if deleted {
            guard state.withLock({ $0.services[service.name] }) != nil else { return }
            notifyServices(service, deleted: true) { $0.services.removeValue(forKey: service.name) }
        } else {
            guard state.withLock({ $0.services[service.name] }) != service else { return }
            notifyServices(service, deleted: false) { $0.services[service.name] = service }
        }
    }

    /// The endpoints whose registration expired (left in place).
    public func expiredEndpoints() -> [Registry_NetworkServiceEndpoint] {
        let current = now()
        return state.withLock { $0.endpoints.values.filter { Self.isExpired($0, at: current) } }
    }

    public func unregister(_ endpoint: Registry_NetworkServiceEndpoint) throws(NSMError) {
        guard !endpoint.name.isEmpty else { throw .invalidArgument("network service endpoint name must not be empty") }
        guard let removed = state.withLock({ $0.endpoints[endpoint.name] }) else { return }
        notifyEndpoints(removed, deleted: true) { $0.endpoints.removeValue(forKey: endpoint.name) }
    }

    public func findEndpoints(_ query: Registry_NetworkServiceEndpoint) -> [Registry_NetworkServiceEndpoint] {
        let current = now()
        return state.withLock { $0.endpoints.values.filter { RegistryQuery.matches($0, query: query) && !Self.isExpired($0, at: current) } }
            .sorted { $0.name < $1.name }
    }

    public func watchEndpoints(_ query: Registry_NetworkServiceEndpoint) -> AsyncStream<Registry_NetworkServiceEndpointResponse> {
        let id = UUID()
        let current = now()
        let (stream, continuation) = state.withLock { state in
            let matching = state.endpoints.values.sorted(by: { $0.name < $1.name })
                .filter { RegistryQuery.matches($0, query: query) && !Self.isExpired($0, at: current) }
            // Room for the whole snapshot plus a backlog of changes (see ``watchBacklog``).
            let (stream, continuation) = AsyncStream.makeStream(
                of: Registry_NetworkServiceEndpointResponse.self, bufferingPolicy: .bufferingOldest(matching.count + Self.watchBacklog))
            for endpoint in matching { continuation.yield(.with { $0.networkServiceEndpoint = endpoint }) }
            state.endpointWatchers[id] = Watcher(matches: { RegistryQuery.matches($0.networkServiceEndpoint, query: query) }, continuation: continuation)
            return (stream, continuation)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.endpointWatchers.removeValue(forKey: id) }
            self?.recordSizes()
        }
        recordSizes()
        return stream
    }

    /// Removes endpoints whose registration expired, telling watchers; returns their names.
    @discardableResult
    public func expire() -> [String] {
        let current = now()
        let expired = state.withLock { $0.endpoints.values.filter { Self.isExpired($0, at: current) } }
        for endpoint in expired {
            notifyEndpoints(endpoint, deleted: true) { $0.endpoints.removeValue(forKey: endpoint.name) }
        }
        return expired.map(\.name).sorted()
    }

    /// When the next registration expires, if any.
    public var nextExpiry: Date? {
        state.withLock { $0.endpoints.values.map(\.expirationTime.date).min() }
    }

    private func notifyEndpoints(_ endpoint: Registry_NetworkServiceEndpoint, deleted: Bool, change: (inout State) -> Void) {
        let response = Registry_NetworkServiceEndpointResponse.with { $0.networkServiceEndpoint = endpoint; $0.deleted = deleted }
        let targets = state.withLock { state in
            change(&state)
            return state.endpointWatchers.values.filter { $0.matches(response) }.map(\.continuation)
        }
        recordSizes()
        for continuation in targets { Self.deliver(response, to: continuation) }
    }

    static func isExpired(_ endpoint: Registry_NetworkServiceEndpoint, at date: Date) -> Bool {
        endpoint.hasExpirationTime && endpoint.expirationTime.date <= date
    }

    // MARK: RegistryReader

    public func networkService(named name: String) async throws -> Registry_NetworkService? {
        state.withLock { $0.services[name] }
    }

    public func endpoints(matching query: Registry_NetworkServiceEndpoint) async throws -> [Registry_NetworkServiceEndpoint] {
        findEndpoints(query)
    }
}

/// Where the registry keeps its records (in memory by default; a CRD store later).
public protocol RegistryStorage: RegistryReader {
    func register(_ service: Registry_NetworkService) throws(NSMError) -> Registry_NetworkService
    func unregister(_ service: Registry_NetworkService) throws(NSMError)
    func findServices(_ query: Registry_NetworkService) -> [Registry_NetworkService]
    func watchServices(_ query: Registry_NetworkService) -> AsyncStream<Registry_NetworkServiceResponse>
    func register(_ endpoint: Registry_NetworkServiceEndpoint) throws(NSMError) -> Registry_NetworkServiceEndpoint
    func unregister(_ endpoint: Registry_NetworkServiceEndpoint) throws(NSMError)
    func findEndpoints(_ query: Registry_NetworkServiceEndpoint) -> [Registry_NetworkServiceEndpoint]
    func watchEndpoints(_ query: Registry_NetworkServiceEndpoint) -> AsyncStream<Registry_NetworkServiceEndpointResponse>
    @discardableResult func expire() -> [String]
    var nextExpiry: Date? { get }
}
