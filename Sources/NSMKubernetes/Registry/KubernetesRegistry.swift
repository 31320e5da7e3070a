import Foundation
public import Kubernetes
public import Logging
public import NSMAPI
import NSMCore
import Readiness
public import NSMRegistry
public import ServiceLifecycle

/// The registry's storage on custom resources (`nsm registry --store kubernetes`), as upstream's
/// registry-k8s: NetworkServices and NetworkServiceEndpoints are objects in the API server, in
/// `namespace`, with upstream's shape. Find and watches are answered from a view (the in-memory
/// store) that informers keep current from every namespace, so several registry replicas behind
/// one Service agree. Expiry comes from the object itself (`expiration_time`); an expired object
/// is deleted only at the version this replica saw — a renewal another replica wrote in the
/// meantime wins (upstream's replicas flap there: deployments-k8s#6779).
public final class KubernetesRegistry: Service, Sendable {
    public let view: RegistryStore
    public let namespace: String
    let client: KubernetesClient
    let logger: Logger
    let endpoints: Informer<NetworkServiceEndpointResource>
    let services: Informer<NetworkServiceResource>

    public init(client: KubernetesClient, namespace: String, expirePeriod: Duration, logger: Logger = Logger(label: "nsm.registry")) {
        let seconds = Double(expirePeriod.components.seconds) + Double(expirePeriod.components.attoseconds) / 1e18
        let view = RegistryStore(expirePeriod: seconds)
        self.view = view
        self.client = client
        self.namespace = namespace
        self.logger = logger
        endpoints = Informer(client: client, resource: NetworkServiceEndpointResource.resource, logger: logger) { change in
            switch change {
            case .added(let object), .modified(let object): view.mirror(object.endpoint, deleted: false)
            case .deleted(let object): view.mirror(object.endpoint, deleted: true)
            }
        }
        services = Informer(client: client, resource: NetworkServiceResource.resource, logger: logger) { change in
            switch change {
            case .added(let object), .modified(let object): view.mirror(object.service, deleted: false)
            case .deleted(let object): view.mirror(object.service, deleted: true)
            }
        }
    }

    /// Follows the objects and deletes expired endpoints, until graceful shutdown.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { try? await self.endpoints.run() }
            group.addTask { try? await self.services.run() }
            group.addTask { await self.expireLoop() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Waits until both kinds are listed (the view is complete).
    public func synced() async throws {
        try await endpoints.synced.wait()
        try await services.synced.wait()
    }

    private func expireLoop() async {
        while !Task.isCancelled {
            for endpoint in view.expiredEndpoints() {
                guard let object = endpoints.objects.first(where: { $0.endpoint.name == endpoint.name }) else { continue }
                do {
                    try await client.delete(NetworkServiceEndpointResource.resource, namespace: object.metadata.namespace, name: object.metadata.name ?? "",
                                            resourceVersion: object.metadata.resourceVersion)
                    logger.info("registration expired; deleted", metadata: ["nsm.endpoint": "\(endpoint.name)"])
                } catch let error as KubernetesError where error.isConflict || error.isNotFound {
                    continue  // renewed (or removed) meanwhile
                } catch {
                    logger.warning("cannot delete an expired registration", metadata: ["nsm.endpoint": "\(endpoint.name)", "error": "\(error)"])
                }
            }
            let wait = min(1.0, max(0.05, view.nextExpiry?.timeIntervalSinceNow ?? 1.0))
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
        }
    }

    // MARK: Storage

    public func register(_ endpoint: Registry_NetworkServiceEndpoint) async throws -> Registry_NetworkServiceEndpoint {
        let prepared = try view.prepared(endpoint)
        try await upsert(NetworkServiceEndpointResource(prepared, namespace: namespace), in: NetworkServiceEndpointResource.resource) { $0.update(from: prepared) }
        view.mirror(prepared, deleted: false)
        return prepared
    }

    public func unregister(_ endpoint: Registry_NetworkServiceEndpoint) async throws {
        guard !endpoint.name.isEmpty else { throw NSMError.invalidArgument("network service endpoint name must not be empty") }
        try await remove(NetworkServiceEndpointResource.resource, name: endpoint.name)
        view.mirror(endpoint, deleted: true)
    }

    public func register(_ service: Registry_NetworkService) async throws -> Registry_NetworkService {
        guard !service.name.isEmpty else { throw NSMError.invalidArgument("network service name must not be empty") }
        var service = service
        if service.payload.isEmpty { service.payload = Payload.ip }
        let stored = service
        try await upsert(NetworkServiceResource(stored, namespace: namespace), in: NetworkServiceResource.resource) { $0.update(from: stored) }
        view.mirror(stored, deleted: false)
        return stored
    }

    public func unregister(_ service: Registry_NetworkService) async throws {
        guard !service.name.isEmpty else { throw NSMError.invalidArgument("network service name must not be empty") }
        try await remove(NetworkServiceResource.resource, name: service.name)
        view.mirror(service, deleted: true)
    }

    /// Creates the object, or updates the existing one's spec (read again and retried when
    /// another writer got there first).
    private func upsert<Object: KubernetesObject>(_ object: Object, in resource: KubernetesResource, apply: (inout Object) -> Void) async throws {
        do {
            _ = try await client.create(object, in: resource, namespace: namespace)
            return
        } catch let error as KubernetesError where error.isAlreadyExists {
        } catch {
            throw Self.unavailable(error)
        }
        for attempt in 1...5 {
            do {
                var current = try await client.get(Object.self, resource, namespace: namespace, name: object.metadata.name ?? "")
                apply(&current)
                _ = try await client.update(current, in: resource)
                return
            } catch let error as KubernetesError where error.isConflict && attempt < 5 {
                continue
            } catch {
                throw Self.unavailable(error)
            }
        }
    }

    private func remove(_ resource: KubernetesResource, name: String) async throws {
        do { try await client.delete(resource, namespace: namespace, name: name) } catch let error as KubernetesError where error.isNotFound {
        } catch {
            throw Self.unavailable(error)
        }
    }

    static func unavailable(_ error: any Error) -> NSMError {
        if let nsm = error as? NSMError { return nsm }
        return NSMError.unavailable("the Kubernetes store refused: \(error)")
    }
}
