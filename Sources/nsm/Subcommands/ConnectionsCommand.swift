import NSMRuntime
import TextTables
import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NSMAPI
import NSMCore
import SwiftProtobuf

/// `nsm connections`: a node's connections, from its manager's MonitorConnections.
struct ConnectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "List a node's connections (pod, service, interface, addresses, endpoint, path)."
    )

    @Option(help: "The node's manager (NSM_CONNECT_TO).")
    var connectTo: String = Environment.string("NSM_CONNECT_TO") ?? "unix:///var/lib/networkservicemesh/nsm.io.sock"

    @Option(help: "A node of the local cluster (nsm cluster up) instead of --connect-to.")
    var node: Int?

    @Option(help: "The local cluster, with --node.")
    var cluster: String = "local"

    @Flag(help: "Print JSON (the connections as protobuf JSON) instead of a table.")
    var json = false

    @Flag(help: "Keep watching: the table, then a line per change (UPDATE, DELETE) as the manager reports it, until interrupted. With --json, one MonitorConnections event per line.")
    var watch = false

    func run() async throws {
        var url: NSMURL
        do { url = try NSMURL(connectTo) } catch { throw ValidationError("--connect-to/NSM_CONNECT_TO: \(error)") }
        if let node {
            _ = try ClusterState.nodes(of: cluster, checking: node)
            url = .unix(path: "/run/nsm-\(cluster)/node\(node)/nsm.io.sock")
        }
        let identity = try node != nil ? ProcessIdentity.ofCluster(cluster) : ProcessIdentity.fromEnvironment(logger: ComponentLogging.logger("nsm.connections"))
        if watch {
            try await identity.with { source in try await withGRPCClient(transport: try .http2NIOPosix(target: url.clientTarget, transportSecurity: .mesh(source))) { client in
                try await Connection_MonitorConnection.Client(wrapping: client).monitorConnections(Connection_MonitorScopeSelector()) { response in
                    for try await event in response.messages { printFlushed(try ConnectionsWatch.render(event, json: json)) }
                }
            } }
            return
        }
        let connections = try await identity.with { source in try await withGRPCClient(transport: try .http2NIOPosix(target: url.clientTarget, transportSecurity: .mesh(source))) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(10)
            return try await Connection_MonitorConnection.Client(wrapping: client).monitorConnections(
                Connection_MonitorScopeSelector(), options: options
            ) { response in
                for try await event in response.messages where event.type == .initialStateTransfer {
                    return event.connections.values.sorted { $0.id < $1.id }
                }
                return []
            }
        } }
        if json {
            let items = try connections.map { String(decoding: try $0.jsonUTF8Data(), as: UTF8.self) }
            print("[" + items.joined(separator: ",\n") + "]")
        } else {
            print(ConnectionsTable.render(connections))
        }
    }
}

/// Renders connections as a table: pod, service, interface, addresses, endpoint, path.
enum ConnectionsTable {
    static func render(_ connections: [Connection_Connection]) -> String {
        var rows = [["POD", "SERVICE", "INTERFACE", "ADDRESS", "ENDPOINT", "ENDPOINT ADDRESS", "PATH"]]
        for connection in connections {
            let ip = connection.context.ipContext
            rows.append([
                connection.labels["podName"].flatMap { $0.isEmpty ? nil : $0 } ?? connection.path.pathSegments.first?.name ?? "-",
                connection.networkService,
                connection.path.pathSegments.count > 0 ? (clientInterface(connection) ?? "-") : "-",
                ip.srcIpAddrs.joined(separator: ","),
                connection.networkServiceEndpointName,
                ip.dstIpAddrs.joined(separator: ","),
                connection.path.pathSegments.map(\.name).joined(separator: " → "),
            ])
        }
        return TextTable.render(rows)
    }

    static func clientInterface(_ connection: Connection_Connection) -> String? {
        connection.mechanism.kernelInterfaceName
    }
}

/// `nsm connections --watch`: each MonitorConnections event as the manager sends it.
enum ConnectionsWatch {
    static func render(_ event: Connection_ConnectionEvent, json: Bool) throws -> String {
        if json { return String(decoding: try event.jsonUTF8Data(), as: UTF8.self) }
        let connections = event.connections.values.sorted { $0.id < $1.id }
        if event.type == .initialStateTransfer { return ConnectionsTable.render(connections) }
        let time = ISO8601DateFormatter().string(from: Date())
        let kind = event.type == .delete ? "DELETE" : "UPDATE"
        return connections.map { connection in
            let ip = connection.context.ipContext
            let pod = connection.labels["podName"].flatMap { $0.isEmpty ? nil : $0 } ?? connection.path.pathSegments.first?.name ?? "-"
            return "\(time) \(kind) \(pod) \(connection.networkService) \(ConnectionsTable.clientInterface(connection) ?? "-") "
                + "\(ip.srcIpAddrs.joined(separator: ",")) → \(connection.networkServiceEndpointName) \(ip.dstIpAddrs.joined(separator: ",")) \(connection.state)"
        }.joined(separator: "\n")
    }
}
