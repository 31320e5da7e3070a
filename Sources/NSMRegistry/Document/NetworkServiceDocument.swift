import Foundation
public import NSMAPI
import SwiftProtobuf
import Yams

/// A NetworkService read from a file, as users write one for upstream: YAML or JSON, either a
/// Kubernetes object (`apiVersion: networkservicemesh.io/v1`, `kind: NetworkService`,
/// `metadata.name`, `spec`) or the bare message (`name`, `payload`, `matches`). Field names are
/// the proto's, in either spelling (`source_selector` or `sourceSelector`).
public enum NetworkServiceDocument {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func parse(_ text: String, source: String) throws(Error) -> Registry_NetworkService {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            throw Error(description: "\(source): not valid YAML or JSON: \(error)")
        }
        guard var object = loaded as? [String: Any] else {
            throw Error(description: "\(source): expected a mapping (a NetworkService object or its spec), found \(loaded.map { "\(type(of: $0))" } ?? "nothing")")
        }
        var name: String?
        if let kind = object["kind"] {
            guard kind as? String == "NetworkService" else {
                throw Error(description: "\(source): kind \"\(kind)\" is not NetworkService")
            }
            name = (object["metadata"] as? [String: Any])?["name"] as? String
            guard let spec = object["spec"] as? [String: Any] else {
                throw Error(description: "\(source): a NetworkService object needs a spec mapping")
            }
            object = spec
        }
        if let name { object["name"] = object["name"] ?? name }
        let json: Data
        do { json = try JSONSerialization.data(withJSONObject: object) } catch {
            throw Error(description: "\(source): cannot be read as a NetworkService: \(error)")
        }
        var service: Registry_NetworkService
        do {
            service = try Registry_NetworkService(jsonUTF8Data: json)
        } catch {
            throw Error(description: "\(source): not a NetworkService (accepted fields: name, payload, matches[].source_selector, matches[].routes[].destination_selector, matches[].fallthrough, matches[].metadata.labels): \(error)")
        }
        if service.name.isEmpty { throw Error(description: "\(source): the NetworkService has no name (metadata.name or name)") }
        return service
    }
}
