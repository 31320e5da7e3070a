import Foundation
import Kubernetes
import KubernetesTestSupport
import Readiness
import Synchronization
import Testing

@Suite("Informer: list, then watch", .serialized)
struct InformerTests {
    final class Changes: Sendable {
        let list = Mutex<[String]>([])
        func record(_ change: Informer<UnstructuredObject>.Change) {
            let text = switch change {
            case .added(let object): "added \(object.metadata.name ?? "")"
            case .modified(let object): "modified \(object.metadata.name ?? "")"
            case .deleted(let object): "deleted \(object.metadata.name ?? "")"
            }
            list.withLock { $0.append(text) }
        }
        var all: [String] { list.withLock { $0 } }
    }

    static func configMap(_ name: String) -> UnstructuredObject {
        UnstructuredObject(apiVersion: "v1", kind: "ConfigMap", metadata: ObjectMeta(name: name), fields: ["data": .object(["k": .string(name)])])
    }

    /// Runs `informer` for the length of `body`.
    static func running<T: Sendable>(_ informer: Informer<UnstructuredObject>, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await informer.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    static func eventually(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition() {
            guard ContinuousClock.now < deadline else { throw KubernetesConfigurationError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("the first list fills the cache; watched changes follow it in order")
    func follows() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client(), writer = try server.client()
            _ = try await writer.create(Self.configMap("first"), in: .configMaps)
            let changes = Changes()
            let informer = Informer<UnstructuredObject>(client: client, resource: .configMaps, onChange: changes.record)
            try await Self.running(informer) {
                try await informer.synced.wait()
                #expect(informer.objects.map(\.metadata.name) == ["first"])
                var second = try await writer.create(Self.configMap("second"), in: .configMaps)
                second.fields["data"] = .object(["k": .string("changed")])
                _ = try await writer.update(second, in: .configMaps)
                try await writer.delete(.configMaps, namespace: "default", name: "first")
                try await Self.eventually("the changes") { changes.all.count == 4 }
            }
            #expect(changes.all == ["added first", "added second", "modified second", "deleted first"])
            #expect(informer.object(namespace: "default", name: "second")?.fields["data"]?["k"] == .string("changed"))
            try await client.shutdown()
            try await writer.shutdown()
        }
    }

    @Test("watches the server ends every second are resumed from the last version: nothing lost, nothing twice, no relist")
    func resumes() async throws {
        try await TestAPIServer.with(watchSeconds: 1, bookmarkSeconds: 0.2) { server in
            let client = try server.client(), writer = try server.client()
            let changes = Changes()
            let informer = Informer<UnstructuredObject>(client: client, resource: .configMaps, onChange: changes.record)
            try await Self.running(informer) {
                try await informer.synced.wait()
                for index in 0..<30 {
                    _ = try await writer.create(Self.configMap("cm-\(index)"), in: .configMaps)
                    try await Task.sleep(for: .milliseconds(80))  // pacing, so the writes span several watches
                }
                try await Self.eventually("every object") { informer.objects.count == 30 }
            }
            #expect(changes.all.sorted() == (0..<30).map { "added cm-\($0)" }.sorted())
            #expect(informer.counts.lists == 1 && informer.counts.watches >= 3)
            try await client.shutdown()
            try await writer.shutdown()
        }
    }

    @Test("410 Expired on a watch: the informer lists again and reports what the watch missed, deletions included")
    func relists() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client(), writer = try server.client()
            for name in ["a", "b"] { _ = try await writer.create(Self.configMap(name), in: .configMaps) }
            let changes = Changes()
            let informer = Informer<UnstructuredObject>(client: client, resource: .configMaps, onChange: changes.record)
            try await Self.running(informer) {
                try await informer.synced.wait()
                // Wait until the watch is open, so the expiry reaches it.
                try await Self.eventually("the watch") { informer.counts.watches == 1 }
                try server.expireWatches()
                try await writer.delete(.configMaps, namespace: "default", name: "b")
                _ = try await writer.create(Self.configMap("c"), in: .configMaps)
                try await Self.eventually("the relist") { Set(informer.objects.compactMap(\.metadata.name)) == ["a", "c"] }
            }
            #expect(informer.counts.lists == 2)
            #expect(Array(changes.all.prefix(2)).sorted() == ["added a", "added b"])
            #expect(Set(changes.all.dropFirst(2)) == ["deleted b", "added c"])
            try await client.shutdown()
            try await writer.shutdown()
        }
    }
}
