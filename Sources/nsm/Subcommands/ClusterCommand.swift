import ArgumentParser
import Foundation
import IPAddressing
import Netlink
import NSMAnnotation
import NSMAPI
import NSMLocalMesh

/// `nsm cluster up|endpoint|stop-endpoint|status|down`: a persistent local cluster (namespaces as nodes) for `nsm run`.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Start, extend, inspect or stop a local cluster whose nodes are network namespaces (for nsm run).",
        subcommands: [Up.self, AddEndpoint.self, StopEndpoint.self, Status.self, Down.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "Cluster name: namespaces are nsm-<cluster>-…, files under /run/nsm-<cluster>.")
        var cluster: String = "local"
        @Option(name: .customLong("name"), help: .hidden) var legacyName: String?

        var name: String { legacyName ?? cluster }
        var prefix: String { "nsm-\(name)" }
        var directory: String { "/run/\(prefix)" }

        /// The running cluster of this name; a runtime failure when it is not up.
        func running() throws -> (LocalCluster, ClusterRecord) {
            guard let record = ClusterRecord.load(directory: directory) else {
                throw CommandFailure("cluster \(name) is not up; start it with nsm cluster up --cluster \(name)")
            }
            return (LocalCluster(prefix: prefix, nodes: record.nodes), record)
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "up", abstract: "Build the network and start the registry and the nodes.")
        @OptionGroup var options: Options
        @Option(help: "Number of nodes (1-16).") var nodes: Int = 2

        func validate() throws {
            guard (1...16).contains(nodes) else { throw ValidationError("--nodes \(nodes): accepted 1 to 16") }
        }

        func run() async throws {
            guard getuid() == 0 else { throw CommandFailure("nsm cluster creates network namespaces: run it as root") }
            let cluster = LocalCluster(prefix: options.prefix, nodes: nodes)
            guard !FileManager.default.fileExists(atPath: cluster.stateFile) else {
                throw CommandFailure("cluster \(options.name) is already up (\(cluster.stateFile)); nsm cluster down --cluster \(options.name) first")
            }
            do {
                try cluster.buildNetwork()
                try await cluster.startControlPlane()
                try cluster.saveState()
            } catch {
                await cluster.tearDown()
                throw CommandFailure("\(error)")
            }
            for node in 0..<nodes { print("node\(node): manager \(cluster.managerURL(node))") }
            print("registry: \(cluster.registryUnix); logs in \(cluster.directory)")
        }
    }

    struct AddEndpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "endpoint", abstract: "Start an endpoint, in its own namespace, on a node of the cluster.",
            discussion: "Everything is checked before anything starts; a duplicate name, a node that does not exist or a pool inside the cluster's prefixes is refused, and nothing is left behind when the endpoint does not come up.")
        @OptionGroup var options: Options
        @Option(help: "Endpoint name.") var endpointName: String
        @Option(help: "Node index.") var node: Int = 0
        @Option(help: "Comma-separated network services.") var serviceNames: String?
        @Option(name: .customLong("services"), help: .hidden) var legacyServices: String?
        @Option(help: "Labels k=v,k2=v2.") var labels: String = ""
        @Option(help: "Address pools, comma-separated CIDRs.") var cidrPrefix: String?
        @Option(name: .customLong("cidr"), help: .hidden) var legacyCIDR: String?
        @Option(help: "A DNS zone the endpoint serves to its clients (see nsm endpoint --dns-zone).") var dnsZone: String?
        @Option(help: "Records of the zone, NAME=IP or NAME=self, comma-separated.") var dnsRecords: String = ""

        func run() async throws {
            let (cluster, _) = try options.running()
            let services = (serviceNames ?? legacyServices ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let parsedLabels: [String: String]
            do { parsedLabels = try LabelRules.parse(labels) } catch { throw ValidationError("--labels: \(error)") }
            let pools: [IPPrefix]
            do { pools = try LocalCluster.parsePools(cidrPrefix ?? legacyCIDR ?? "172.16.1.0/24") } catch { throw ValidationError("\(error)") }
            do {
                try cluster.adoptNamespaces()
                let process = try await cluster.addEndpoint(endpointName, node: node, services: services, labels: parsedLabels, cidr: pools,
                                                            extra: dnsZone.map { ["--dns-zone", $0, "--dns-records", dnsRecords] } ?? [])
                print("endpoint \(endpointName) on node\(node), pid \(process.pid)")
            } catch {
                throw CommandFailure("endpoint \(endpointName.prefix(63)): \(error)")
            }
        }
    }

    struct StopEndpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stop-endpoint", abstract: "Stop one endpoint of the cluster and remove its namespace.")
        @OptionGroup var options: Options
        @Option(help: "Endpoint name.") var endpointName: String

        func run() async throws {
            _ = try options.running()
            do { try await LocalCluster.stopEndpoint(endpointName, prefix: options.prefix, directory: options.directory) } catch {
                throw CommandFailure("\(error)")
            }
            print("endpoint \(endpointName) stopped")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the cluster's nodes, endpoints, services (with their matches) and pods.")
        @OptionGroup var options: Options

        func run() async throws {
            let (cluster, record) = try options.running()
            print(try await ClusterStatus.render(cluster: cluster, record: record))
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the cluster's processes and delete its namespaces.")
        @OptionGroup var options: Options

        func run() async throws {
            let leftovers = NetworkNamespace.names().filter { $0.hasPrefix(options.prefix + "-") }
            guard FileManager.default.fileExists(atPath: options.directory) || !leftovers.isEmpty else {
                throw CommandFailure("cluster \(options.name) is not up: nothing to stop")
            }
            let stopped = await LocalCluster.stopRecorded(prefix: options.prefix, directory: options.directory)
            print("cluster \(options.name) down; stopped: \(stopped.isEmpty ? "no running process" : stopped.sorted().joined(separator: ", "))")
        }
    }
}
