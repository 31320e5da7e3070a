import ArgumentParser
import Foundation
import NSMLocalMesh

/// `nsm cluster up|endpoint|down`: a persistent local cluster (namespaces as nodes) for `nsm run`.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Start, extend or stop a local cluster whose nodes are network namespaces (for nsm run).",
        subcommands: [Up.self, AddEndpoint.self, Down.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "Cluster name: namespaces are nsm-<name>-…, files under /run/nsm-<name>.")
        var name: String = "local"

        var cluster: LocalCluster { LocalCluster(prefix: "nsm-\(name)", nodes: 0) }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "up", abstract: "Build the network and start the registry and the nodes.")
        @OptionGroup var options: Options
        @Option(help: "Number of nodes.") var nodes: Int = 2

        func run() async throws {
            guard getuid() == 0 else { throw ValidationError("nsm cluster creates network namespaces: run it as root") }
            let cluster = LocalCluster(prefix: "nsm-\(options.name)", nodes: nodes)
            guard !FileManager.default.fileExists(atPath: cluster.stateFile) else {
                throw ValidationError("cluster \(options.name) is already up (\(cluster.stateFile)); nsm cluster down --name \(options.name) first")
            }
            do {
                try cluster.buildNetwork()
                try await cluster.startControlPlane()
                try cluster.saveState()
            } catch {
                await cluster.tearDown()
                throw error
            }
            for node in 0..<nodes { print("node\(node): manager \(cluster.managerURL(node))") }
            print("registry: \(cluster.registryUnix); logs in \(cluster.directory)")
        }
    }

    struct AddEndpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "endpoint", abstract: "Start an endpoint, in its own namespace, on a node of the cluster.")
        @OptionGroup var options: Options
        @Option(help: "Endpoint name.") var endpointName: String
        @Option(help: "Node index.") var node: Int = 0
        @Option(help: "Comma-separated network services.") var services: String
        @Option(help: "Labels k=v,k2=v2.") var labels: String = ""
        @Option(help: "Address pool.") var cidr: String = "172.16.1.0/24"
        @Option(help: "A DNS zone the endpoint serves to its clients (see nsm endpoint --dns-zone).") var dnsZone: String?
        @Option(help: "Records of the zone, NAME=IP or NAME=self, comma-separated.") var dnsRecords: String = ""

        func run() async throws {
            let state = options.cluster
            guard let data = FileManager.default.contents(atPath: state.stateFile),
                  let recorded = try JSONSerialization.jsonObject(with: data) as? [String: Any], let nodes = recorded["nodes"] as? Int
            else { throw ValidationError("cluster \(options.name) is not up; run nsm cluster up --name \(options.name)") }
            let cluster = LocalCluster(prefix: "nsm-\(options.name)", nodes: nodes)
            try cluster.adoptNamespaces()
            let parsed = Dictionary(labels.split(separator: ",").compactMap { pair -> (String, String)? in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }, uniquingKeysWith: { $1 })
            let process = try await cluster.startEndpoint(endpointName, node: node, services: services.split(separator: ",").map(String.init),
                                                          labels: parsed, cidr: cidr,
                                                          extra: dnsZone.map { ["--dns-zone", $0, "--dns-records", dnsRecords] } ?? [])
            try LocalCluster.record(process: endpointName, pid: process.pid, directory: cluster.directory)
            print("endpoint \(endpointName) on node\(node), pid \(process.pid)")
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the cluster's processes and delete its namespaces.")
        @OptionGroup var options: Options

        func run() async throws {
            let cluster = options.cluster
            let stopped = await LocalCluster.stopRecorded(prefix: cluster.prefix, directory: cluster.directory)
            print("stopped: \(stopped.sorted().joined(separator: ", "))")
        }
    }
}
