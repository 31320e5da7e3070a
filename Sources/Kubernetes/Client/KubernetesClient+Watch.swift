import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension KubernetesClient {
    /// WATCH from `resourceVersion`: hands each event to `body` until the server ends the watch
    /// (returns) or it fails (throws: a Status for an ERROR event, e.g. 410 `Expired` when the
    /// version is too old; ``KubernetesTransportError`` when the connection breaks).
    public func watch<T: Codable & Sendable>(
        _ type: T.Type = T.self, _ resource: KubernetesResource, namespace: String? = nil, selection: Selection = Selection(),
        resourceVersion: String?, timeoutSeconds: Int = 300, bookmarks: Bool = true,
        _ body: (WatchEvent<T>) async throws -> Void
    ) async throws {
        var query = selection.query + [("watch", "true"), ("timeoutSeconds", "\(timeoutSeconds)")]
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if bookmarks { query.append(("allowWatchBookmarks", "true")) }
        let operation = "watch \(Self.where_(resource, namespace))"
        try await limiter.acquire()
        let response: HTTPClientResponseStream
        do {
            let answer = try await http.execute(try request(.GET, resource.path(namespace: namespace), query: query), timeout: .seconds(Int64(timeoutSeconds) + 30))
            response = HTTPClientResponseStream(status: Int(answer.status.code), headers: answer.headers, body: answer.body)
        } catch let error as KubernetesConfigurationError {
            throw error
        } catch {
            throw KubernetesTransportError(operation: operation, server: connection.server, underlying: "\(error)")
        }
        guard (200..<300).contains(response.status) else {
            let data = try await response.body.collect(upTo: Self.maximumBodyBytes)
            throw Self.failure(status: response.status, headers: response.headers, body: Data(data.readableBytesView), operation: operation)
        }
        var pending: [UInt8] = []
        do {
            for try await chunk in response.body {
                try Task.checkCancellation()
                pending += chunk.readableBytesView
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.allSatisfy({ $0 == 32 || $0 == 13 }) { continue }
                    try await body(try Self.event(T.self, line, operation: operation))
                }
            }
        } catch let error as KubernetesError {
            throw error
        } catch let error as KubernetesDecodingError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw KubernetesTransportError(operation: operation, server: connection.server, underlying: "\(error)")
        }
        if !pending.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 10 }) { try await body(try Self.event(T.self, pending, operation: operation)) }
    }

    /// One line of a watch. An ERROR event throws its Status.
    static func event<T: Codable & Sendable>(_ type: T.Type, _ line: [UInt8], operation: String) throws -> WatchEvent<T> {
        let raw = try decode(RawWatchEvent.self, Data(line), operation: operation)
        guard let kind = WatchEvent<T>.Kind(rawValue: raw.type) else {
            throw KubernetesDecodingError(operation: operation, problem: "unknown watch event type \(raw.type)", body: String(decoding: line.prefix(300), as: UTF8.self))
        }
        let objectData = try encoder.encode(raw.object ?? .null)
        switch kind {
        case .error:
            let status = try decode(KubernetesStatus.self, objectData, operation: operation)
            throw KubernetesError(status: status, operation: operation)
        case .bookmark:
            let meta = raw.object?["metadata"]?["resourceVersion"]?.string
            return WatchEvent(type: .bookmark, object: nil, status: nil, resourceVersion: meta)
        default:
            let object = try decode(T.self, objectData, operation: operation)
            return WatchEvent(type: kind, object: object, status: nil, resourceVersion: raw.object?["metadata"]?["resourceVersion"]?.string)
        }
    }
}

/// A watch line before its object is typed.
struct RawWatchEvent: Decodable {
    var type: String
    var object: JSONValue?
}

/// A streamed answer's parts.
struct HTTPClientResponseStream {
    var status: Int
    var headers: HTTPHeaders
    var body: HTTPClientResponse.Body
}
