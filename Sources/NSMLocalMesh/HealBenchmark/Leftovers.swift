import Foundation
import IPAddressing
import Netlink
import NSMAPI
import NSMCore
import NSMRuntime

/// What outlives the pods' connections once every one was closed: interfaces, addresses and
/// routes in the pods, interfaces (veths, VXLAN: their VNIs) in the nodes and endpoints, the
/// connections endpoints (their IPAM leases) and managers still hold, registry entries that were
/// not there before the faults, or that went missing.
struct Leftovers {
    let cluster: LocalCluster
    let pods: [NetworkNamespace]
    let inspector: GRPCClientPool
    let registered: Set<String>

    func count() async throws -> [String] {
        var found: [String] = []
        for (index, pod) in pods.enumerated() {
            let handle = try NetlinkHandle(namespace: pod)
            found += try handle.links().filter { $0.index != 1 }.map { "pod\(index): interface \($0.name)" }
            found += try handle.addresses().filter { $0.index != 1 }.map { "pod\(index): address \($0.prefix)" }
            let routes = try handle.routes(family: .v4) + handle.routes(family: .v6)
            found += routes.filter { $0.outputIndex != 1 }.map { "pod\(index): route \($0.destination)" }
        }
        for node in 0..<cluster.nodeCount {
            guard let namespace = cluster.namespaces["node\(node)"] else { continue }
            found += try NetlinkHandle(namespace: namespace).links().filter { $0.index != 1 && $0.name != "eth0" }
                .map { "node\(node): interface \($0.name)\(Self.kind($0))" }
        }
        for endpoint in HealBenchmark.endpoints {
            if let namespace = cluster.namespaces[endpoint.name] {
                found += try NetlinkHandle(namespace: namespace).links().filter { $0.index != 1 }.map { "\(endpoint.name): interface \($0.name)" }
            }
            let held = try await snapshot(.unix(path: "\(cluster.directory)/node1/\(endpoint.name).sock"))
            found += held.map { "\(endpoint.name): connection \($0.id) (its address lease)" }
        }
        for node in 0..<cluster.nodeCount {
            found += try await snapshot(try NSMURL(cluster.managerURL(node))).map { "node\(node) manager: connection \($0.id)" }
        }
        let registry = RegistryClient(url: try NSMURL(cluster.registryUnix), pool: inspector)
        let names = Set(try await registry.findEndpoints(Registry_NetworkServiceEndpoint()).map(\.name))
        found += names.subtracting(registered).sorted().map { "registry: entry \($0) not there before" }
        found += registered.subtracting(names).sorted().map { "registry: entry \($0) missing" }
        return found
    }

    static func kind(_ link: Link) -> String {
        switch link.kind {
        case .vxlan(let options)?: " (vxlan, VNI \(options.vni))"
        case let kind?: " (\(kind))"
        case nil: ""
        }
    }

    private func snapshot(_ url: NSMURL) async throws -> [Connection_Connection] {
        try await inspector.peer(for: url).connectionSnapshot()
    }
}
