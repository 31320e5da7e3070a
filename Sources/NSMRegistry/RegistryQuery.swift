import SwiftProtobuf
import Foundation
public import NSMAPI

/// Query matching of the registries, as upstream.
public enum RegistryQuery {
    /// NSE: `name` exact if set; every queried service/label present and equal; expiration
    /// seconds equal if set; queried service names a subset of the endpoint's; `url` a substring.
    public static func matches(_ endpoint: Registry_NetworkServiceEndpoint, query: Registry_NetworkServiceEndpoint) -> Bool {
        if !query.name.isEmpty, query.name != endpoint.name { return false }
        for (service, labels) in query.networkServiceLabels {
            guard let have = endpoint.networkServiceLabels[service], have.labels.contains(selector: labels.labels) else { return false }
        }
        if query.hasExpirationTime, query.expirationTime.seconds != endpoint.expirationTime.seconds { return false }
        if !Set(query.networkServiceNames).isSubset(of: Set(endpoint.networkServiceNames)) { return false }
        if !query.url.isEmpty, !endpoint.url.contains(query.url) { return false }
        return true
    }

    /// NS: `name` exact if set; `payload` exact if set; `matches` equal if given.
    public static func matches(_ service: Registry_NetworkService, query: Registry_NetworkService) -> Bool {
        if !query.name.isEmpty, query.name != service.name { return false }
        if !query.payload.isEmpty, query.payload != service.payload { return false }
        if !query.matches.isEmpty, query.matches != service.matches { return false }
        return true
    }
}
