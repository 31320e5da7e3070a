import NSMRuntime
import TextTables
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Netlink
import NSMAPI
import NSMCore
import NSMLocalMesh
import SwiftProtobuf
import SPIFFE

/// `nsm cluster status`: nodes, endpoints, services with their matches, pods (connections).
enum ClusterStatus {
    static func render(cluster: LocalCluster, record: ClusterRecord) async throws -> String {
        // The registry and the managers want the cluster's mutual TLS: an SVID from its agent.
        do {
            return try await ProcessIdentity.of(agentSocket: cluster.agentSocket).with(deadline: .seconds(5)) { identity in
                try await render(cluster: cluster, record: record, identity: identity)
            }
        } catch let failure as CommandFailure {
            return try await render(cluster: cluster, record: record, identity: nil) + "\n(\(failure); the registry and managers could not be asked)"
        }
    }

    static func render(cluster: LocalCluster, record: ClusterRecord, identity: (any X509Source)?) async throws -> String {
        var sections: [String] = []
        var nodes = [["NODE", "MANAGER", "PROCESS"]]
        for node in 0..<record.nodes {
            nodes.append(["node\(node)", cluster.managerURL(node), state(record, "node\(node)")])
        }
        nodes.append(["registry", cluster.registryUnix, state(record, "registry")])
        sections.append(TextTable.render(nodes))

        var endpoints = [["ENDPOINT", "NODE", "SERVICES", "LABELS", "POOLS", "PROCESS"]]
        for (name, info) in (record.endpoints ?? [:]).sorted(by: { $0.key < $1.key }) {
            let labels = info.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            endpoints.append([name, "node\(info.node)", info.services.joined(separator: ","), labels.isEmpty ? "-" : labels, info.cidr, state(record, name)])
        }
        sections.append(endpoints.count == 1 ? "no endpoints (add one: nsm cluster endpoint)" : TextTable.render(endpoints))

        do {
            guard let identity else { throw CommandFailure("no SVID") }
            let services = try await ServiceTable.services(at: try NSMURL(cluster.registryUnix), identity: identity)
            sections.append(services.isEmpty ? "no services registered" : ServiceTable.render(services))
        } catch {
            sections.append("services: the registry did not answer (\(error))")
        }

        var connections: [Connection_Connection] = []
        for node in 0..<record.nodes where record.isRunning("node\(node)") {
            let manager = try NSMURL(cluster.managerURL(node))
            guard let identity else { break }
            let found = try? await withGRPCClient(transport: try .http2NIOPosix(target: manager.clientTarget, transportSecurity: .mesh(identity))) { client in
                var options = CallOptions.defaults
                options.timeout = .seconds(5)
                return try await Connection_MonitorConnection.Client(wrapping: client).monitorConnections(Connection_MonitorScopeSelector(), options: options) { response in
                    for try await event in response.messages where event.type == .initialStateTransfer {
                        return Array(event.connections.values)
                    }
                    return []
                }
            }
            connections += found ?? []
        }
        sections.append(connections.isEmpty ? "no pods connected" : ConnectionsTable.render(connections.sorted { $0.id < $1.id }))
        return sections.joined(separator: "\n\n")
    }

    static func state(_ record: ClusterRecord, _ name: String) -> String {
        guard let pid = record.pids[name] else { return "not started" }
        return record.isRunning(name) ? "running (pid \(pid))" : "exited (pid \(pid))"
    }
}
