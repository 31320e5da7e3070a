import Foundation
import Glibc
import IPAddressing
import Logging
import Netlink
import NetlinkWire
import NSMAnnotation
import NSMAPI
import NSMCore
import NSMDNS
import SPIFFE
import NSMRuntime
import ServiceLifecycle
import SwiftProtobuf

/// `nsm demo`: the spec's example on one machine, explained as it runs, then removed again.
public struct Demo: Sendable {
    public static let annotation = "kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2"

    let say: @Sendable (String) -> Void
    let cluster: LocalCluster
    /// Also kill and restart node0's process and check the pod keeps its interfaces.
    let restartNode: Bool

    public init(restartNode: Bool = true, say: @escaping @Sendable (String) -> Void) {
        self.say = say
        self.restartNode = restartNode
        cluster = LocalCluster(prefix: "nsmdemo\(getpid())", nodes: 2)
    }

    func step(_ title: String, _ text: String = "") {
        say("\n== \(title)")
        if !text.isEmpty { say(text) }
    }

    /// Runs the demo; tears everything down even when a step fails, then reports leftovers.
    public func run() async throws {
        var failure: (any Error)?
        do { try await steps() } catch {
            failure = error
            let saved = "/tmp/\(cluster.prefix)-logs"
            try? FileManager.default.createDirectory(atPath: saved, withIntermediateDirectories: true)
            for file in (try? FileManager.default.contentsOfDirectory(atPath: cluster.directory)) ?? [] where file.hasSuffix(".log") {
                try? FileManager.default.copyItem(atPath: "\(cluster.directory)/\(file)", toPath: "\(saved)/\(file)")
            }
            say("The components' logs are kept in \(saved).")
        }
        step("Teardown", "Stopping every process, deleting every namespace.")
        await cluster.tearDown()
        let left = cluster.leftovers()
        say(left.isEmpty ? "Nothing left behind: no namespace, link, address or process of the demo remains." : "LEFT BEHIND: \(left)")
        if let failure { throw failure }
        if !left.isEmpty { throw LocalMeshError("the demo left things behind: \(left)") }
    }

    func steps() async throws {
        say("""
            Network Service Mesh gives a pod extra network services, asked for by annotation:
              networkservicemesh.io: "\(Self.annotation)"
            This demo builds a two-node cluster out of network namespaces on this machine (no Kubernetes),
            runs the real components as processes, and connects a pod to both services.
            """)
        step("1. The cluster",
             "Nodes are namespaces \(cluster.namespaceName("node0")) and \(cluster.namespaceName("node1")), joined by a bridge in \(cluster.namespaceName("fabric")) (\(LocalCluster.subnet).0/24).")
        try cluster.buildNetwork()
        try await cluster.startControlPlane()
        say("""
            registry   in the fabric namespace, \(cluster.registryTCP) — who provides which network service
            node0/1    `nsm node` in each node namespace: the manager (first hop of local pods; unix socket
                       \(cluster.directory)/node<N>/nsm.io.sock and tcp://<node>:5001) and the forwarder (data plane)
            cluster DNS in the fabric namespace at \(LocalCluster.clusterDNS):53, zone \(LocalCluster.clusterDomain) (plays CoreDNS)
            Pods get eth0 on the pod network 10.244.0.0/16, as a CNI plugin would; services live in 10.96.0.0/12.
            The cluster's own prefixes 10.96.0.0/12 and 10.244.0.0/16 are excluded from every address NSM hands out.
            """)

        // This process (the pod's client) gets its SVID from the cluster's agent like every component.
        let identity = try WorkloadAPISource(endpoint: cluster.agentSocket)
        let pool = GRPCClientPool(identity: identity)
        var logger = Logger(label: "nsm.demo")
        logger.logLevel = ProcessInfo.processInfo.environment["NSM_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let services = ServiceGroup(configuration: .init(services: [.init(service: identity), .init(service: pool)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            defer { group.cancelAll() }
            try await identity.ready()
            try await self.mesh(pool: pool, logger: logger)
            await services.triggerGracefulShutdown()
        }
    }

    func mesh(pool: GRPCClientPool, logger: Logger) async throws {
        step("2. Network services and endpoints")
        let registry = RegistryClient(url: try NSMURL(cluster.registryUnix), pool: pool)
        var service = Registry_NetworkService()
        service.name = "my-networkservice-1"
        service.payload = Payload.ethernet
        for app in ["foo", "bar"] {
            var match = Registry_Match()
            match.sourceSelector = ["app": app]
            var route = Registry_Destination()
            route.destinationSelector = ["app": app]
            match.routes = [route]
            service.matches.append(match)
        }
        _ = try await registry.register(service)
        say("my-networkservice-1 is registered with two matches: requests labelled app=foo go to endpoints labelled app=foo, app=bar to app=bar.")
        try await cluster.startEndpoint("nse-foo", node: 0, services: ["my-networkservice-1"], labels: ["app": "foo"], cidr: "172.16.1.0/24",
                                        extra: Self.dns(zone: "service-1.nsm", records: "endpoint=self"))
        try await cluster.startEndpoint("nse-bar", node: 1, services: ["my-networkservice-1"], labels: ["app": "bar"], cidr: "172.16.2.0/24",
                                        extra: Self.dns(zone: "service-1.nsm", records: "endpoint=self"))
        try await cluster.startEndpoint("nse-svc2", node: 1, services: ["my-networkservice-2"], labels: ["app": "svc2"], cidr: "172.16.3.0/24",
                                        extra: ["--routes", "10.80.0.0/16"] + Self.dns(zone: "service-2.nsm", records: "endpoint=self,web=10.80.0.7"))
        say("""
            nse-foo   node0  my-networkservice-1  app=foo   hands out 172.16.1.0/24; DNS for service-1.nsm
            nse-bar   node1  my-networkservice-1  app=bar   hands out 172.16.2.0/24; DNS for service-1.nsm
            nse-svc2  node1  my-networkservice-2            hands out 172.16.3.0/24, and a route to 10.80.0.0/16; DNS for service-2.nsm
            Each endpoint runs in its own namespace and registers through its node's manager. Each also answers
            DNS for its zone on its own side of every connection (endpoint.<zone> is the address the pod reached).
            """)

        step("3. A pod asks for both services", "Pod namespace \(cluster.namespaceName("pod")) on node0; its client requests every item of the annotation at once.")
        let localPod = try LocalPod(cluster: cluster, name: "pod")
        defer { localPod.destroy() }
        let pod = localPod.namespace
        say("The pod has eth0 \(localPod.address) on the pod network; its resolv.conf is what kubelet writes (cluster DNS \(LocalCluster.clusterDNS), search …\(LocalCluster.clusterDomain), ndots:5).")
        let annotation = try NetworkServiceAnnotation.parse(Self.annotation)
        for (index, item) in annotation.services.enumerated() {
            say("item \(index + 1): service \(item.networkService), interface \(item.interfaceName)\(item.interfaceNameGenerated ? " (generated)" : ""), labels \(item.labels.isEmpty ? "none" : item.labels.labelsDescription)")
        }
        let dns = try localPod.makeDNS(logger: logger)
        // The pod's client speaks for the pod's namespace: its connections pass the namespace's descriptor.
        let podPool = GRPCClientPool(passingNamespace: pod.path, identity: pool.identity)
        let client = NSMClient(.init(
            name: "my-app", managerURL: try NSMURL(cluster.managerURL(0)), annotation: annotation,
            labels: ["podName": "my-app"], namespaceURL: pod.identity.url, requestTimeout: .seconds(20),
            onConnectionsChange: { dns.update($0) }), pool: podPool, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: podPool), .init(service: dns), .init(service: client)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await self.withClient(client, pod: localPod, dns: dns, annotation: annotation)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let remaining = try NetlinkHandle(namespace: pod).links().map(\.name)
        say("The pod's interfaces after close: \(remaining.joined(separator: ", "))")
        guard remaining == ["lo", "eth0"] else { throw LocalMeshError("interfaces left in the pod after close: \(remaining)") }
        let restored = try String(contentsOfFile: localPod.resolvConfPath, encoding: .utf8)
        say("The pod's resolv.conf is the original again: \(restored == LocalCluster.podResolvConf ? "yes" : "NO")")
        guard restored == LocalCluster.podResolvConf else { throw LocalMeshError("resolv.conf not restored:\n\(restored)") }
    }

    static func dns(zone: String, records: String) -> [String] { ["--dns-zone", zone, "--dns-records", records] }

    func withClient(_ client: NSMClient, pod localPod: LocalPod, dns: PodDNS, annotation: NetworkServiceAnnotation) async throws {
        let pod = localPod.namespace
        try await waitUntil("the pod's connections", seconds: 30) {
            client.connections.count == annotation.services.count && dns.isReady && dns.connectionCount == annotation.services.count
        }
        step("4. Which endpoint serves what, and why")
        for connection in client.connections {
            let why = connection.networkService == "my-networkservice-1"
                ? "the request carries app=\(connection.labels["app"] ?? "?"), and the service's matching rule routes it to endpoints labelled app=\(connection.labels["app"] ?? "?")"
                : "the service has no matches: any endpoint providing it will do"
            let path = connection.path.pathSegments.map(\.name).joined(separator: " → ")
            say("\(connection.networkService): served by \(connection.networkServiceEndpointName) — \(why)\n   path: \(path)")
            // Each hop that called the next over gRPC (mutual TLS) signed its segment's token with its SVID.
            for segment in connection.path.pathSegments where !segment.token.isEmpty {
                say("     \(segment.name) signed as \(PathToken.unverifiedSubject(of: segment.token) ?? "?")")
            }
        }
        say("""
            Every hop above spoke mutual TLS with an SVID from the cluster's SPIFFE agent; each that called the next
            over gRPC put a token signed with its SVID in its path segment, checked by the next hop.
            """)
        try showPod(pod)
        step("5. Traffic", "Pinging each endpoint from the pod, through the service's interface.")
        try pingAll(client, pod: pod)

        try dnsStep(localPod, dns: dns)

        step("7. Healing", "A second app=foo endpoint starts on node1; then nse-foo is killed (SIGKILL). The forwarder notices the endpoint is gone, the manager marks the connection down, and the pod's client reselects.")
        try await cluster.startEndpoint("nse-foo-2", node: 1, services: ["my-networkservice-1"], labels: ["app": "foo"], cidr: "172.16.4.0/24",
                                        extra: Self.dns(zone: "service-1.nsm", records: "endpoint=self"))
        await cluster.processes["nse-foo"]?.crash()
        try await waitUntil("the client to reselect", seconds: 30) {
            client.connections.first?.networkServiceEndpointName == "nse-foo-2"
        }
        say("my-networkservice-1 now served by \(client.connections.first?.networkServiceEndpointName ?? "?") (cross-node, over VXLAN).")
        try pingAll(client, pod: pod)
        let healed = try resolve(localPod, "endpoint.service-1.nsm")
        say("endpoint.service-1.nsm now resolves to \(healed) — the new endpoint's DNS replaced the old one's.")
        guard healed == client.connections.first?.context.ipContext.dstIpAddrs.first.flatMap({ IPPrefix($0)?.address.description }) else {
            throw LocalMeshError("after healing endpoint.service-1.nsm resolves to \(healed)")
        }

        if restartNode { try await restartNodeStep(client, pod: localPod, annotation: annotation) }

        step("9. Closing", "The pod goes away: its client closes every connection, and the forwarders remove the interfaces.")
    }

    func restartNodeStep(_ client: NSMClient, pod localPod: LocalPod, annotation: NetworkServiceAnnotation) async throws {
        step("8. Restarting a node", "node0's `nsm node` process is killed (SIGKILL) and started again; the pod's interfaces stay as they are while its client picks the connections back up.")
        let pod = localPod.namespace
        let before = try NetlinkHandle(namespace: pod).links().filter { $0.name != "lo" }.map { "\($0.name)#\($0.index)" }.sorted()
        await cluster.processes["node0"]?.crash()
        try await cluster.startNode(0)
        try await waitUntil("the manager to know the pod's connections again", seconds: 30) {
            (try? await self.managerConnections(client: client)) == annotation.services.count
        }
        let after = try NetlinkHandle(namespace: pod).links().filter { $0.name != "lo" }.map { "\($0.name)#\($0.index)" }.sorted()
        say("interfaces before: \(before.joined(separator: " ")), after: \(after.joined(separator: " "))")
        guard before == after else { throw LocalMeshError("the restart replaced the pod's interfaces: \(before) → \(after)") }
        try pingAll(client, pod: pod)
    }

    /// Step 6: names of the cluster and of both services resolve in the pod, through its proxy.
    func dnsStep(_ pod: LocalPod, dns: PodDNS) throws {
        step("6. DNS", """
            The pod's DNS proxy listens on 127.0.0.1:53 inside the pod; its resolv.conf now points there. Each query goes
            at once to the cluster DNS and to every service whose DNS config covers the name (service-1.nsm only to
            my-networkservice-1's endpoint, service-2.nsm only to my-networkservice-2's); the first positive answer wins.
            """)
        let conf = try String(contentsOfFile: pod.resolvConfPath, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        say("resolv.conf in the pod:\n  " + conf.joined(separator: "\n  "))
        for (name, source) in [("registry.nsm-system.svc.cluster.local", "cluster DNS"), ("kubernetes.default", "cluster DNS, via the search list"),
                               ("endpoint.service-1.nsm", "my-networkservice-1's endpoint"), ("web.service-2.nsm", "my-networkservice-2's endpoint")] {
            say("getent hosts \(name) → \(try resolve(pod, name))   (\(source))")
        }
        let ping = try pod.run(["ping", "-c", "2", "-W", "2", "endpoint.service-1.nsm"])
        let summary = ping.output.split(separator: "\n").first { $0.contains("packets transmitted") }.map(String.init) ?? ping.output
        say("ping endpoint.service-1.nsm: \(summary)")
        guard ping.status == 0 else { throw LocalMeshError("ping by name failed:\n\(ping.output)") }
        let metrics = dns.proxy.metrics
        let asked = metrics.upstreams.keys.sorted().map { "\($0) \(metrics.upstreams[$0]!.count)" }.joined(separator: ", ")
        say("The proxy answered \(metrics.queries) queries (\(metrics.cacheHits) from its cache); answers per upstream: \(asked).")
    }

    /// The first address `getent hosts` gives for `name` inside the pod.
    func resolve(_ pod: LocalPod, _ name: String) throws -> String {
        let result = try pod.run(["getent", "hosts", name])
        guard result.status == 0, let address = result.output.split(separator: " ").first else {
            throw LocalMeshError("\(name) does not resolve in the pod (getent status \(result.status)): \(result.output)")
        }
        return String(address)
    }

    func managerConnections(client: NSMClient) async throws -> Int {
        let ids = Set(client.connections.map(\.id))
        let output = try runIn(
            cluster.namespaces["node0"]!, cluster.executable, ["connections", "--connect-to", cluster.managerURL(0), "--json"],
            environment: cluster.componentEnvironment)
        return ids.filter { output.output.contains("\"\($0)\"") }.count
    }

    func showPod(_ pod: NetworkNamespace) throws {
        let handle = try NetlinkHandle(namespace: pod)
        var lines: [String] = []
        for link in try handle.links() where link.name != "lo" {
            let kind = link.kind?.name ?? "?"
            let addresses = try handle.addresses(family: .v4, index: link.index).map(\.prefix.description)
            lines.append("\(link.name)  \(kind)  mtu \(link.mtu)  \(link.isUp ? "UP" : "DOWN")  \(addresses.joined(separator: ", "))")
        }
        for route in try handle.routes(family: .v4) {
            let name = try handle.link(index: route.outputIndex ?? 0).name
            lines.append("route \(route.destination)\(route.gateway.map { " via \($0)" } ?? "") dev \(name)\(route.scope == .link ? " scope link" : "")")
        }
        say("The pod now has:\n  " + lines.joined(separator: "\n  "))
    }

    func pingAll(_ client: NSMClient, pod: NetworkNamespace) throws {
        for connection in client.connections {
            guard let interface = connection.mechanism.kernelInterfaceName,
                  let target = connection.context.ipContext.dstIpAddrs.first.flatMap({ IPPrefix($0)?.address })
            else { throw LocalMeshError("connection \(connection.id) has no interface or endpoint address") }
            let result = try runIn(pod, "/bin/ping", ["-c", "2", "-W", "2", "-I", interface, "\(target)"])
            let summary = result.output.split(separator: "\n").first { $0.contains("packets transmitted") }.map(String.init) ?? result.output
            say("ping \(target) via \(interface) (\(connection.networkServiceEndpointName)): \(summary)")
            guard result.status == 0 else { throw LocalMeshError("ping \(target) via \(interface) failed:\n\(result.output)") }
        }
    }
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitUntil(_ what: String, seconds: Double, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw LocalMeshError("timed out after \(Int(seconds)) s waiting for \(what)")
}
