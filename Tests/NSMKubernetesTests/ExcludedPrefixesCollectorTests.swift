import Foundation
import IPAddressing
import Kubernetes
import KubernetesTestSupport
import NSMElements
import NSMKubernetes
import Readiness
import ServiceLifecycle
import Testing

@Suite("ExcludedPrefixesCollector against the test API server", .serialized)
struct ExcludedPrefixesCollectorTests {
    static func object(_ kind: String, _ name: String, namespace: String? = nil, _ fields: [String: JSONValue]) -> UnstructuredObject {
        UnstructuredObject(apiVersion: "v1", kind: kind, metadata: ObjectMeta(name: name, namespace: namespace), fields: fields)
    }

    static func node(_ name: String, _ cidrs: [String]) -> UnstructuredObject {
        object("Node", name, ["spec": .object(["podCIDR": .string(cidrs[0]), "podCIDRs": .array(cidrs.map { .string($0) })])])
    }

    static func service(_ name: String, _ ip: String) -> UnstructuredObject {
        object("Service", name, namespace: "default", ["spec": .object(["clusterIP": .string(ip), "clusterIPs": .array([.string(ip)])])])
    }

    /// Runs the collector for the length of `body`.
    static func running<T: Sendable>(_ collector: ExcludedPrefixesCollector, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await collector.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    static func file(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test("kubeadm's subnets, nodes' pod CIDRs, services' IPs, the user's ConfigMap and the configured prefixes, merged; changes follow")
    func collects() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            let kubeadm = """
                apiVersion: kubeadm.k8s.io/v1beta3
                kind: ClusterConfiguration
                networking:
                  podSubnet: 10.244.0.0/16,fd00:10:244::/56
                  serviceSubnet: 10.96.0.0/16
                """
            _ = try await client.create(Self.object("ConfigMap", "kubeadm-config", namespace: "kube-system", ["data": .object(["ClusterConfiguration": .string(kubeadm)])]), in: .configMaps)
            _ = try await client.create(Self.node("node-a", ["10.244.1.0/24"]), in: .nodes)
            _ = try await client.create(Self.node("node-b", ["10.250.0.0/24", "fd00:99::/64"]), in: .nodes)
            _ = try await client.create(Self.service("dns", "10.96.0.10"), in: .services)
            _ = try await client.create(Self.service("outside", "10.97.1.1"), in: .services)
            _ = try await client.create(Self.object("ConfigMap", "excluded-prefixes-config", namespace: "default",
                                                    ["data": .object(["excluded_prefixes_input.yaml": .string("prefixes:\n- 192.168.0.0/16\n- not-a-prefix\n")])]),
                                        in: .configMaps)
            let output = server.directory + "/out/excluded_prefixes.yaml"
            let collector = ExcludedPrefixesCollector(.init(prefixes: [IPPrefix("172.30.0.0/16")!], outputFile: output), client: client)
            try await Self.running(collector) {
                let first = try await collector.firstWrite.wait()
                #expect(first.map(\.description) == [
                    "10.96.0.0/16", "10.97.1.1/32", "10.244.0.0/16", "10.250.0.0/24", "172.30.0.0/16", "192.168.0.0/16", "fd00:10:244::/56", "fd00:99::/64",
                ])
                #expect(Self.file(output).hasPrefix("Prefixes:\n- 10.96.0.0/16\n"))
                // The manager's reader takes the file as written.
                #expect(try ExcludedPrefixesFile.parse(Self.file(output)) == first)
                _ = try await client.create(Self.node("node-c", ["10.251.0.0/24"]), in: .nodes)
                try await client.delete(.services, namespace: "default", name: "outside")
                try await eventually("the file to follow") {
                    let text = Self.file(output)
                    return text.contains("10.251.0.0/24") && !text.contains("10.97.1.1")
                }
            }
            try await client.shutdown()
        }
    }

    @Test("with no kubeadm configuration and no ServiceCIDR, the service range comes from the API server's refusal of an address outside it")
    func discoversServiceRange() async throws {
        try await TestAPIServer.with(serviceCIDR: "10.43.0.0/16,fd00:43::/112") { server in
            let client = try server.client()
            _ = try await client.create(Self.service("api", "10.43.0.1"), in: .services)
            let output = server.directory + "/excluded_prefixes.yaml"
            let collector = ExcludedPrefixesCollector(.init(outputFile: output), client: client)
            let first = try await Self.running(collector) { try await collector.firstWrite.wait() }
            #expect(first.map(\.description) == ["10.43.0.0/16", "fd00:43::/112"])
            try await client.shutdown()
        }
    }

    @Test("the config-map output: the list in nsm-config's key, the ConfigMap made when missing and patched on change")
    func configMapOutput() async throws {
        try await TestAPIServer.with { server in
            let client = try server.client()
            _ = try await client.create(Self.node("node-a", ["10.244.1.0/24"]), in: .nodes)
            let collector = ExcludedPrefixesCollector(.init(
                prefixes: [IPPrefix("10.96.0.0/12")!], output: .configMap(namespace: "nsm-system", name: "nsm-config", key: "excluded_prefixes_output.yaml"),
                userConfigMap: ("default", "excluded-prefixes-config", "excluded_prefixes_input.yaml")), client: client)
            func stored() async throws -> String? {
                try await client.get(UnstructuredObject.self, .configMaps, namespace: "nsm-system", name: "nsm-config").fields["data"]?["excluded_prefixes_output.yaml"]?.string
            }
            try await Self.running(collector) {
                _ = try await collector.firstWrite.wait()
                #expect(try await stored() == "Prefixes:\n- 10.96.0.0/12\n- 10.244.1.0/24\n")
                _ = try await client.create(Self.node("node-b", ["10.244.2.0/24"]), in: .nodes)
                let deadline = ContinuousClock.now + .seconds(10)
                while try await stored()?.contains("10.244.2.0/24") != true {
                    guard ContinuousClock.now < deadline else { Issue.record("the ConfigMap did not follow"); break }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            try await client.shutdown()
        }
    }

    @Test("the range in a refusal is read as kube-apiserver words it")
    func refusalText() {
        let message = #"Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"#
        #expect(ClusterPrefixSources.serviceRange(fromRefusal: message).map(\.description) == ["10.96.0.0/12"])
        #expect(ClusterPrefixSources.serviceRange(fromRefusal: "something else").isEmpty)
    }
}

func eventually(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        guard ContinuousClock.now < deadline else { throw KubernetesConfigurationError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
