/// What happens to a pod's services, as ``NSMClient`` reports it to whoever runs it (`nsm run`
/// prints each as it happens; `nsm client` logs them).
public enum NSMClientEvent: Sendable, Equatable {
    /// A request failed; the client keeps trying (with back-off) unless it is stopping.
    case requestFailed(service: String, error: String)
    /// The service is connected again after a loss, through this endpoint.
    case healed(service: String, endpoint: String)
    /// The service's connection was lost (its endpoint or path went away); the client reselects.
    case lost(service: String, reason: String)
    /// The request carried labels, but the service has no matches: any endpoint may serve it.
    case labelsIgnored(service: String, labels: String)

    public var description: String {
        switch self {
        case .requestFailed(let service, let error): "\(service): request failed: \(error)"
        case .healed(let service, let endpoint): "\(service): healed, now served by \(endpoint)"
        case .lost(let service, let reason): "\(service): connection lost (\(reason)); reselecting"
        case .labelsIgnored(let service, let labels):
            "\(service): the labels {\(labels)} chose nothing: the service has no matches, so any of its endpoints serves it "
                + "(give it matches with nsm service register --name \(service) --match 'SOURCE -> DESTINATION')"
        }
    }
}
