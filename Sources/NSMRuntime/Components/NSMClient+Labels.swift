import GRPCCore
import Logging
import NSMAnnotation
import NSMAPI
import NSMCore

extension NSMClient {
    /// When the annotation gave this service labels but the service has no matches, the labels
    /// chose nothing (upstream's rule: any endpoint serves it): says so, once per connection.
    func reportIgnoredLabels(_ index: Int) async {
        let requested = configuration.annotation.services[index]
        guard !requested.labels.isEmpty else { return }
        let registry = RegistryClient(url: configuration.managerURL, pool: pool)
        guard let service = try? await registry.networkService(named: requested.networkService), service.matches.isEmpty else { return }
        let labels = requested.labels.labelsDescription
        logger.warning("request labels chose nothing: the service has no matches, so any of its endpoints serves it", metadata: [
            "nsm.connection.id": "\(ids[index])", "service": "\(requested.networkService)", "labels": "\(labels)",
        ])
        configuration.onEvent?(.labelsIgnored(service: requested.networkService, labels: labels))
    }
}
