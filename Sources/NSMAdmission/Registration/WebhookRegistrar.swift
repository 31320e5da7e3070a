public import Kubernetes
public import Logging

/// Creates or updates the webhook's configurations with the current CA bundle, and removes them
/// when the webhook stops (a configuration left behind would send every pod to a webhook that is
/// gone).
public struct WebhookRegistrar: Sendable {
    public let client: KubernetesClient
    public let configurations: WebhookConfigurations
    public let logger: Logger

    public init(client: KubernetesClient, configurations: WebhookConfigurations, logger: Logger) {
        self.client = client
        self.configurations = configurations
        self.logger = logger
    }

    public func register(caBundle: String) async throws {
        try await put(configurations.mutating(caBundle: caBundle), in: .mutatingWebhookConfigurations)
        try await put(configurations.validating(caBundle: caBundle), in: .validatingWebhookConfigurations)
    }

    public func unregister() async {
        for resource in [KubernetesResource.mutatingWebhookConfigurations, .validatingWebhookConfigurations] {
            do {
                try await client.delete(resource, name: configurations.name)
                logger.info("webhook configuration removed", metadata: ["resource": "\(resource)", "name": "\(configurations.name)"])
            } catch let error as KubernetesError where error.isNotFound {
            } catch {
                logger.warning("cannot remove the webhook configuration", metadata: ["resource": "\(resource)", "error": "\(error)"])
            }
        }
    }

    func put(_ object: UnstructuredObject, in resource: KubernetesResource) async throws {
        for attempt in 1...5 {
            do {
                _ = try await client.create(object, in: resource)
                logger.info("webhook configuration created", metadata: ["resource": "\(resource)", "name": "\(configurations.name)"])
                return
            } catch let error as KubernetesError where error.isAlreadyExists {
                var current = try await client.get(UnstructuredObject.self, resource, name: configurations.name)
                current.fields["webhooks"] = object.fields["webhooks"]
                current.metadata.labels = (current.metadata.labels ?? [:]).merging(object.metadata.labels ?? [:]) { $1 }
                do {
                    _ = try await client.update(current, in: resource)
                    logger.info("webhook configuration updated", metadata: ["resource": "\(resource)", "name": "\(configurations.name)"])
                    return
                } catch let error as KubernetesError where error.isConflict && attempt < 5 {
                    continue
                }
            }
        }
    }
}
