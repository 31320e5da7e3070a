public import Kubernetes

/// One RFC 6902 operation; the webhook only ever adds (an `add` on an existing member replaces it).
public struct PatchOperation: Codable, Sendable, Equatable {
    public var op: String
    public var path: String
    public var value: JSONValue

    public static func add(_ path: String, _ value: JSONValue) -> PatchOperation { PatchOperation(op: "add", path: path, value: value) }
}
