import Foundation
import Glibc
public import IPAddressing
import Netlink
import NSMAnnotation
import NSMElements

extension LocalCluster {
    /// Names the cluster itself uses for its namespaces and processes.
    static func isReserved(_ name: String) -> Bool {
        ["fabric", "registry", "cluster-dns"].contains(name) || (name.hasPrefix("node") && Int(name.dropFirst(4)) != nil)
    }

    /// Checks an endpoint's settings against the cluster before anything is started: its name
    /// (free, not one of the cluster's own), its node, its pools (valid, outside the cluster's
    /// excluded prefixes). Throws saying what is wrong and what is accepted.
    public func validateEndpoint(name: String, node: Int, services: [String], cidr: [IPPrefix]) throws {
        if let problem = NetworkServiceName.problem(name) {
            throw LocalMeshError("endpoint name: \(problem.replacingOccurrences(of: "network service name", with: "name"))")
        }
        guard namespaceName(name).utf8.count <= 200 else { throw LocalMeshError("endpoint name \"\(name.prefix(40))…\" is too long for a namespace name") }
        guard !Self.isReserved(name) else {
            throw LocalMeshError("endpoint name \"\(name)\" is one of the cluster's own (fabric, registry, cluster-dns, node<N>); choose another")
        }
        try Self.checkNode(node, of: nodeCount, cluster: "the cluster")
        guard !services.isEmpty else { throw LocalMeshError("give at least one network service (--service-names svc-a,svc-b)") }
        for service in services {
            if let problem = NetworkServiceName.problem(service) { throw LocalMeshError("--service-names: \(problem)") }
        }
        guard !cidr.isEmpty else { throw LocalMeshError("give at least one address pool (--cidr-prefix 172.16.1.0/24)") }
        let excluded = (try? ExcludedPrefixesFile.parse(String(contentsOfFile: excludedPrefixesFile, encoding: .utf8))) ?? []
        for pool in cidr {
            // A pool wholly inside a cluster prefix could never hand out an address; one that
            // merely contains a cluster prefix works (that part is skipped at request time).
            if let clash = excluded.first(where: { $0.family == pool.family && $0.length <= pool.length && $0.contains(pool.address) }) {
                throw LocalMeshError("--cidr-prefix \(pool) lies inside the cluster's prefix \(clash) (pods and services use it), so no address could be handed out; choose a pool outside \(excluded.map(\.description).joined(separator: ", "))")
            }
        }
    }

    /// Refuses a node index outside a cluster of `count` nodes, saying which nodes there are.
    public static func checkNode(_ node: Int, of count: Int, cluster: String) throws {
        guard (0..<count).contains(node) else {
            throw LocalMeshError("node \(node) does not exist: \(cluster) has node\(count == 1 ? " 0" : "s 0-\(count - 1)")")
        }
    }

    /// Parses `--cidr-prefix`: comma-separated CIDRs.
    public static func parsePools(_ text: String) throws -> [IPPrefix] {
        try text.split(separator: ",").map { item in
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard let prefix = IPPrefix(trimmed) else {
                throw LocalMeshError("--cidr-prefix \"\(trimmed.prefix(60))\" is not a CIDR; accepted: comma-separated prefixes such as 172.16.1.0/24,fd00::/120")
            }
            guard prefix.length < (prefix.family == .v4 ? 31 : 127) else {
                throw LocalMeshError("--cidr-prefix \(prefix) is too small: each connection takes two addresses; use /30 or larger")
            }
            return prefix
        }
    }

    /// Starts endpoint `name` as a persistent part of the cluster: claims the name in the record
    /// (refusing a duplicate), starts it, records its pid. When it does not come up, everything
    /// made for it — process, namespace, log, claim — is removed and the error carries its log.
    public func addEndpoint(
        _ name: String, node: Int, services: [String], labels: [String: String], cidr: [IPPrefix], extra: [String] = []
    ) async throws -> ManagedProcess {
        try validateEndpoint(name: name, node: node, services: services, cidr: cidr)
        let info = ClusterRecord.EndpointInfo(node: node, services: services, labels: labels, cidr: cidr.map(\.description).joined(separator: ","))
        try ClusterRecord.update(directory: directory) { record in
            if record.endpoints?[name] != nil || record.pids[name] != nil {
                let running = record.isRunning(name) ? "running" : "recorded but not running"
                throw LocalMeshError("endpoint \(name) already exists (\(running)); stop it first with nsm cluster stop-endpoint --endpoint-name \(name)")
            }
            guard !NetworkNamespace.names().contains(namespaceName(name)) else {
                throw LocalMeshError("namespace \(namespaceName(name)) already exists (a pod or a leftover); choose another endpoint name")
            }
            record.endpoints = (record.endpoints ?? [:]).merging([name: info]) { $1 }
        }
        do {
            let process = try await startEndpoint(name, node: node, services: services, labels: labels,
                                                  cidr: cidr.map(\.description).joined(separator: ","), extra: extra)
            try ClusterRecord.update(directory: directory) { $0.pids[name] = Int(process.pid) }
            return process
        } catch {
            await processes[name]?.stop(grace: .seconds(2))
            processes[name] = nil
            try? NetworkNamespace.delete(named: namespaceName(name))
            namespaces[name] = nil
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name).log")
            try? ClusterRecord.update(directory: directory) { $0.endpoints?[name] = nil }
            throw error
        }
    }

    /// Stops endpoint `name` (SIGTERM, SIGKILL after 5 s), deletes its namespace and log, and
    /// removes it from the record.
    public static func stopEndpoint(_ name: String, prefix: String, directory: String) async throws {
        let pid = try ClusterRecord.update(directory: directory) { record -> Int? in
            guard record.endpoints?[name] != nil || (record.pids[name] != nil && !isReserved(name)) else {
                let known = (record.endpoints ?? [:]).keys.sorted()
                throw LocalMeshError("no endpoint \(name) in this cluster; endpoints: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
            }
            defer { record.endpoints?[name] = nil; record.pids[name] = nil }
            return record.pids[name]
        }
        if let pid, pid > 0 { await terminate(Int32(pid), grace: 5) }
        try? NetworkNamespace.delete(named: "\(prefix)-\(name)")
        try? FileManager.default.removeItem(atPath: "\(directory)/\(name).log")
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; returns once the process is gone.
    static func terminate(_ pid: Int32, grace: Double) async {
        guard pid > 0, kill(pid, 0) == 0 else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline, kill(pid, 0) == 0 { try? await Task.sleep(for: .milliseconds(20)) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}
