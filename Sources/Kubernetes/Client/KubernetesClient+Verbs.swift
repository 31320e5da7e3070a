import Foundation
import NIOHTTP1

extension KubernetesClient {
    /// How a PATCH body is to be read.
    public enum PatchType: String, Sendable {
        /// RFC 7386: a partial object, `null` deletes a field.
        case merge = "application/merge-patch+json"
        /// RFC 6902: a list of operations.
        case json = "application/json-patch+json"
    }

    /// Selects what a LIST or WATCH returns.
    public struct Selection: Sendable {
        public var labelSelector: String?
        public var fieldSelector: String?
        public init(labelSelector: String? = nil, fieldSelector: String? = nil) {
            self.labelSelector = labelSelector
            self.fieldSelector = fieldSelector
        }
        var query: [(String, String)] {
            [("labelSelector", labelSelector), ("fieldSelector", fieldSelector)].compactMap { key, value in value.map { (key, $0) } }
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, operation: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw KubernetesDecodingError(operation: operation, problem: "\(error)", body: String(decoding: data.prefix(300), as: UTF8.self))
        }
    }

    static func where_(_ resource: KubernetesResource, _ namespace: String?) -> String {
        resource.namespaced ? (namespace.map { "\(resource) in \($0)" } ?? "\(resource) in all namespaces") : "\(resource)"
    }

    public func get<T: Decodable & Sendable>(_ type: T.Type = T.self, _ resource: KubernetesResource, namespace: String? = nil, name: String) async throws -> T {
        let operation = "get \(Self.where_(resource, namespace)) \"\(name)\""
        let data = try await send(try request(.GET, resource.path(namespace: namespace, name: name)), operation: operation)
        return try Self.decode(type, data, operation: operation)
    }

    /// One page of a LIST (`limit` items at most, from `continue`).
    public func list<T: Codable & Sendable>(
        _ type: T.Type = T.self, _ resource: KubernetesResource, namespace: String? = nil, selection: Selection = Selection(),
        limit: Int? = nil, continue token: String? = nil
    ) async throws -> KubernetesList<T> {
        var query = selection.query
        if let limit { query.append(("limit", "\(limit)")) }
        if let token { query.append(("continue", token)) }
        let operation = "list \(Self.where_(resource, namespace))"
        let data = try await send(try request(.GET, resource.path(namespace: namespace), query: query), operation: operation, timeout: .seconds(60))
        return try Self.decode(KubernetesList<T>.self, data, operation: operation)
    }

    /// Every page of a LIST, `pageSize` at a time; the resourceVersion is the first page's
    /// (the consistent snapshot the pages belong to).
    public func listAll<T: Codable & Sendable>(
        _ type: T.Type = T.self, _ resource: KubernetesResource, namespace: String? = nil, selection: Selection = Selection(), pageSize: Int = 500
    ) async throws -> KubernetesList<T> {
        var page = try await list(type, resource, namespace: namespace, selection: selection, limit: pageSize)
        var all = page
        while let token = page.metadata.continue, !token.isEmpty {
            page = try await list(type, resource, namespace: namespace, selection: selection, limit: pageSize, continue: token)
            all.items += page.items
        }
        all.metadata.continue = nil
        return all
    }

    /// POST: creates `object` (409 `AlreadyExists` when the name is taken).
    public func create<T: KubernetesObject>(_ object: T, in resource: KubernetesResource, namespace: String? = nil, dryRun: Bool = false) async throws -> T {
        let namespace = resource.namespaced ? (namespace ?? object.metadata.namespace ?? connection.namespace) : nil
        let operation = "create \(Self.where_(resource, namespace)) \"\(object.metadata.name ?? object.metadata.generateName ?? "")\""
        let body = try Self.encoder.encode(object)
        let data = try await send(try request(.POST, resource.path(namespace: namespace), query: dryRun ? [("dryRun", "All")] : [], body: body), operation: operation)
        return try Self.decode(T.self, data, operation: operation)
    }

    /// PUT: replaces `object`, which carries the resourceVersion it was read at (409 `Conflict`
    /// when it changed since: read again and retry).
    public func update<T: KubernetesObject>(_ object: T, in resource: KubernetesResource) async throws -> T {
        let namespace = resource.namespaced ? (object.metadata.namespace ?? connection.namespace) : nil
        let name = object.metadata.name ?? ""
        let operation = "update \(Self.where_(resource, namespace)) \"\(name)\""
        let body = try Self.encoder.encode(object)
        let data = try await send(try request(.PUT, resource.path(namespace: namespace, name: name), body: body), operation: operation)
        return try Self.decode(T.self, data, operation: operation)
    }

    /// PATCH with a merge patch or a JSON patch.
    public func patch<T: Decodable & Sendable>(
        _ type: T.Type = T.self, _ resource: KubernetesResource, namespace: String? = nil, name: String, patch: Data, as patchType: PatchType
    ) async throws -> T {
        let operation = "patch \(Self.where_(resource, namespace)) \"\(name)\""
        let data = try await send(try request(.PATCH, resource.path(namespace: namespace, name: name), body: patch, contentType: patchType.rawValue), operation: operation)
        return try Self.decode(type, data, operation: operation)
    }

    /// DELETE (404 `NotFound` when it is not there). With `resourceVersion`, only the object at
    /// that version is deleted (409 `Conflict` when it changed since: somebody renewed it).
    public func delete(_ resource: KubernetesResource, namespace: String? = nil, name: String, resourceVersion: String? = nil) async throws {
        let operation = "delete \(Self.where_(resource, namespace)) \"\(name)\""
        let options = try resourceVersion.map { version in
            try Self.encoder.encode(["apiVersion": JSONValue.string("v1"), "kind": .string("DeleteOptions"),
                                     "preconditions": .object(["resourceVersion": .string(version)])])
        }
        _ = try await send(try request(.DELETE, resource.path(namespace: namespace, name: name), body: options), operation: operation)
    }
}

/// An answer that is not the JSON this client expected.
public struct KubernetesDecodingError: Error, CustomStringConvertible {
    public var operation: String
    public var problem: String
    public var body: String
    public var description: String { "\(operation): the answer is not what was expected (\(problem)): \(body)" }
}
