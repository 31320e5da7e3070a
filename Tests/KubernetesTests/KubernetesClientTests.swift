import Foundation
import Kubernetes
import KubernetesTestSupport
import Synchronization
import Testing

@Suite("KubernetesClient against the test API server", .serialized)
struct KubernetesClientTests {
    final class Seen: Sendable { let list = Mutex<[String]>([]) }

    static func configMap(_ name: String, labels: [String: String]? = nil, data: [String: String] = ["a": "1"]) -> UnstructuredObject {
        UnstructuredObject(apiVersion: "v1", kind: "ConfigMap", metadata: ObjectMeta(name: name, labels: labels),
                           fields: ["data": .object(data.mapValues { .string($0) })])
    }

    @Test("create, get, update with resourceVersion, merge and JSON patch, delete; each refusal is the server's Status")
    func verbs() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            defer { Task { try? await client.shutdown() } }
            let created = try await client.create(Self.configMap("settings"), in: .configMaps)
            #expect(created.metadata.namespace == "default" && created.metadata.resourceVersion != nil && created.metadata.uid != nil)
            let taken = await #expect(throws: KubernetesError.self) { _ = try await client.create(Self.configMap("settings"), in: .configMaps) }
            #expect(taken?.isAlreadyExists == true)
            #expect(taken?.description == #"create configmaps in default "settings": configmaps "settings" already exists [409 AlreadyExists]"#)
            var read: UnstructuredObject = try await client.get(UnstructuredObject.self, .configMaps, namespace: "default", name: "settings")
            #expect(read == created)
            read.fields["data"] = .object(["a": .string("2")])
            let updated = try await client.update(read, in: .configMaps)
            #expect(updated.fields["data"]?["a"] == .string("2"))
            // The version read before the update is stale now.
            let conflict = await #expect(throws: KubernetesError.self) { _ = try await client.update(read, in: .configMaps) }
            #expect(conflict?.isConflict == true && conflict?.description.contains("the object has been modified") == true)
            let merged: UnstructuredObject = try await client.patch(
                UnstructuredObject.self, .configMaps, namespace: "default", name: "settings", patch: Data(#"{"data":{"b":"3","a":null}}"#.utf8), as: .merge)
            #expect(merged.fields["data"] == .object(["b": .string("3")]))
            let patched: UnstructuredObject = try await client.patch(
                UnstructuredObject.self, .configMaps, namespace: "default", name: "settings", patch: Data(#"[{"op":"add","path":"/data/c","value":"4"}]"#.utf8), as: .json)
            #expect(patched.fields["data"]?["c"] == .string("4"))
            try await client.delete(.configMaps, namespace: "default", name: "settings")
            let gone = await #expect(throws: KubernetesError.self) { _ = try await client.get(UnstructuredObject.self, .configMaps, namespace: "default", name: "settings") }
            #expect(gone?.isNotFound == true && gone?.description.contains(#"configmaps "settings" not found"#) == true)
            let invalid = await #expect(throws: KubernetesError.self) { _ = try await client.create(Self.configMap("Not_Valid"), in: .configMaps) }
            #expect(invalid?.code == 422 && invalid?.description.contains("metadata.name") == true)
            // A dry run stores nothing.
            _ = try await client.create(Self.configMap("dry"), in: .configMaps, dryRun: true)
            await #expect(throws: KubernetesError.self) { _ = try await client.get(UnstructuredObject.self, .configMaps, namespace: "default", name: "dry") }
        }
    }

    @Test("a wrong token is the server's 401; a server whose CA is not trusted is refused before any request")
    func authentication() async throws {
        try await TestAPIServer.with { server in
            var connection = try server.connection()
            connection.credentials = .token("wrong")
            let client = try KubernetesClient(connection: connection)
            let denied = await #expect(throws: KubernetesError.self) { _ = try await client.list(UnstructuredObject.self, .configMaps) }
            #expect(denied?.code == 401)
            try await client.shutdown()
            var untrusted = try server.connection()
            untrusted.trust = .system
            let stranger = try KubernetesClient(connection: untrusted)
            await #expect(throws: KubernetesTransportError.self) { _ = try await stranger.list(UnstructuredObject.self, .configMaps) }
            try await stranger.shutdown()
        }
    }

    @Test("tls-server-name: a server reached by an address its certificate does not name is accepted under that name, and only under it")
    func tlsServerName() async throws {
        // As a cluster's API server reached through an address outside its certificate.
        try await TestAPIServer.with(certificateNames: "DNS:kubernetes.default.svc") { server in
            let text = try String(contentsOfFile: server.kubeconfig, encoding: .utf8)
            let plain = try server.client()
            await #expect(throws: KubernetesTransportError.self) { _ = try await plain.list(UnstructuredObject.self, .configMaps) }
            try await plain.shutdown()
            for (name, accepted) in [("kubernetes.default.svc", true), ("apiserver.elsewhere.test", false)] {
                let path = server.kubeconfig + "-\(name)"
                try text.replacingOccurrences(of: "certificate-authority:", with: "tls-server-name: \(name), certificate-authority:")
                    .write(toFile: path, atomically: true, encoding: .utf8)
                let connection = try KubernetesConnection.kubeconfig(paths: [path])
                #expect(connection.serverName == name)
                let client = try KubernetesClient(connection: connection)
                if accepted {
                    _ = try await client.list(UnstructuredObject.self, .configMaps)
                } else {
                    let refused = await #expect(throws: KubernetesTransportError.self) { _ = try await client.list(UnstructuredObject.self, .configMaps) }
                    #expect(refused?.description.contains("127.0.0.1") == true)
                }
                try await client.shutdown()
            }
        }
    }

    @Test("a refused connection fails at once, naming the server (no retrying inside the HTTP client)")
    func refusedConnection() async throws {
        let port = try await TestAPIServer.with { server in server.port }
        var connection = KubernetesConnection(server: "https://127.0.0.1:\(port)", trust: .insecure, credentials: .none, source: "test")
        connection.namespace = "default"
        let client = try KubernetesClient(connection: connection)
        let refused = await #expect(throws: KubernetesTransportError.self) { _ = try await client.list(UnstructuredObject.self, .configMaps) }
        // The refusal itself, not the connect timeout (10 s) that retrying until it would end in.
        #expect(refused?.description.contains("cannot reach the API server https://127.0.0.1:\(port)") == true)
        #expect(refused?.description.contains("refused") == true, "\(refused.map { "\($0)" } ?? "")")
        try await client.shutdown()
    }

    @Test("lists page with limit and continue; label and field selectors choose")
    func paging() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            for index in 0..<25 {
                _ = try await client.create(Self.configMap("cm-\(index)", labels: ["app": index % 2 == 0 ? "even" : "odd"]), in: .configMaps, namespace: index < 20 ? "a" : "b")
            }
            let page = try await client.list(UnstructuredObject.self, .configMaps, limit: 10)
            #expect(page.items.count == 10 && page.metadata.continue != nil)
            let all = try await client.listAll(UnstructuredObject.self, .configMaps, pageSize: 10)
            #expect(all.items.count == 25 && Set(all.items.compactMap(\.metadata.name)).count == 25)
            #expect(try await client.listAll(UnstructuredObject.self, .configMaps, namespace: "b").items.count == 5)
            let even = try await client.listAll(UnstructuredObject.self, .configMaps, selection: .init(labelSelector: "app=even"))
            #expect(even.items.count == 13)
            let named = try await client.list(UnstructuredObject.self, .configMaps, selection: .init(fieldSelector: "metadata.name=cm-7"))
            #expect(named.items.map(\.metadata.name) == ["cm-7"])
            try await client.shutdown()
        }
    }

    @Test("a watch from a list's version sees every change in order, with bookmarks; the server ending it is a normal return")
    func watch() async throws {
        try await TestAPIServer.with(watchSeconds: 3, bookmarkSeconds: 0.3) { server in
            let client = try server.client()
            let writer = try server.client()
            _ = try await writer.create(Self.configMap("before"), in: .configMaps)
            let start = try await client.list(UnstructuredObject.self, .configMaps).metadata.resourceVersion
            let seen = Seen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await client.watch(UnstructuredObject.self, .configMaps, resourceVersion: start) { event in
                        let name = event.object?.metadata.name ?? ""
                        seen.list.withLock { $0.append(event.type == .bookmark ? "BOOKMARK" : "\(event.type.rawValue) \(name)") }
                    }
                }
                group.addTask {
                    var object = try await writer.create(Self.configMap("during"), in: .configMaps)
                    object.fields["data"] = .object(["x": .string("y")])
                    _ = try await writer.update(object, in: .configMaps)
                    try await writer.delete(.configMaps, namespace: "default", name: "during")
                }
                try await group.waitForAll()
            }
            let events = seen.list.withLock { $0 }
            #expect(events.filter { $0 != "BOOKMARK" } == ["ADDED during", "MODIFIED during", "DELETED during"])
            #expect(events.contains("BOOKMARK"))
            try await client.shutdown()
            try await writer.shutdown()
        }
    }

    @Test("a watch from a version the server no longer keeps ends with 410 Expired")
    func expired() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            let old = try await client.list(UnstructuredObject.self, .configMaps).metadata.resourceVersion
            _ = try await client.create(Self.configMap("new"), in: .configMaps)
            try server.compact()  // the server forgets its history, as etcd compacts
            let error = await #expect(throws: KubernetesError.self) {
                try await client.watch(UnstructuredObject.self, .configMaps, resourceVersion: old) { _ in }
            }
            #expect(error?.isExpired == true)
            try await client.shutdown()
        }
    }
}
