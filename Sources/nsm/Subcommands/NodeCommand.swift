import Readiness
import ArgumentParser
import Foundation
import IPAddressing
import Logging
import Netlink
import NSMAPI
import NSMCore
import NSMDataPlane
import NSMRuntime
import ServiceLifecycle
import UnixSignals

/// `nsm node`: the manager and the forwarder of one node, in one process.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a node's manager and forwarder (kernel data plane: veth locally, VXLAN across nodes).",
        discussion: """
            Environment (as upstream's nsmgr and forwarder): NSM_NAME, NODE_NAME, NSM_LISTEN_ON, NSM_REGISTRY_URL, \
            NSM_TUNNEL_IP, NSM_VXLAN_PORT, NSM_LABELS (forwarder), NSM_EXCLUDED_PREFIXES_FILE. Flags override them.
            Connections survive a restart of this process: clients re-request them and the existing \
            interfaces are kept.
            \(ProcessIdentity.help)
            \(ComponentTelemetry.help)
            """
    )

    @Option(help: "Manager name (NSM_NAME).")
    var name: String = Environment.string("NSM_NAME") ?? "nsmgr-\(Environment.string("NODE_NAME") ?? ProcessInfo.processInfo.hostName)"

    @Option(help: "Node name added to requests as the nodeName label (NODE_NAME).")
    var nodeName: String = Environment.string("NODE_NAME") ?? ProcessInfo.processInfo.hostName

    @Option(help: "unix and tcp URLs to listen on (NSM_LISTEN_ON).")
    var listenOn: String = Environment.string("NSM_LISTEN_ON") ?? "unix:///var/lib/networkservicemesh/nsm.io.sock,tcp://127.0.0.1:5001"
    @Option(name: .customLong("listen"), help: .hidden) var legacyListen: String?
    var listen: String { legacyListen ?? listenOn }

    @Option(help: "The registry (NSM_REGISTRY_URL).")
    var registryURL: String = Environment.string("NSM_REGISTRY_URL") ?? "tcp://127.0.0.1:5002"

    @Option(help: "This node's tunnel (underlay) address for VXLAN (NSM_TUNNEL_IP); default the tcp listen address.")
    var tunnelIP: String? = Environment.string("NSM_TUNNEL_IP")

    @Option(help: "VXLAN UDP port (NSM_VXLAN_PORT).")
    var vxlanPort: UInt16 = UInt16(Environment.string("NSM_VXLAN_PORT") ?? "") ?? 4789

    @Option(help: "Forwarder labels (NSM_LABELS).")
    var labels: String = Environment.string("NSM_LABELS") ?? "p2p:true"

    @Option(help: "The cluster's excluded prefixes (YAML with a Prefixes: list).")
    var excludedPrefixesFile: String = Environment.string("NSM_EXCLUDED_PREFIXES_FILE") ?? "/var/lib/networkservicemesh/config/excluded_prefixes.yaml"

    func run() async throws {
        ProcessExecutor.install()
        let urls = try listen.split(separator: ",").map { try listenURL(String($0)) }
        guard let unix = urls.first(where: \.isLocal), let tcp = urls.first(where: { !$0.isLocal }) else {
            throw ValidationError("--listen-on/NSM_LISTEN_ON: need one unix:// and one tcp:// URL, got \(listen)")
        }
        guard case .tcp(let host, _) = tcp else { throw ValidationError("--listen-on/NSM_LISTEN_ON: no tcp URL") }
        guard let tunnel = IPAddress(tunnelIP ?? host), tunnel != IPAddress("0.0.0.0") else {
            throw ValidationError("--tunnel-ip/NSM_TUNNEL_IP: give this node's underlay address (the tcp listen host \(host) is not one)")
        }
        guard case .unix(let socketPath) = unix else { throw ValidationError("--listen: no unix URL") }
        let directory = (socketPath as NSString).deletingLastPathComponent
        let logger = ComponentLogging.logger("nsm.node")
        // Before anything that makes metrics: handles made earlier would stay with the no-op backend.
        let telemetry = try ComponentTelemetry(logger: logger, name: name)
        let identity = try ProcessIdentity.fromEnvironment(logger: logger)
        let pool = GRPCClientPool(identity: identity.source)
        // The manager calls this process's forwarder directly, not over its unix socket.
        let inProcess = InProcessHops()
        let manager = Manager(.init(
            name: name, listenUnix: unix, listenTCP: tcp, registryURL: try NSMURL(registryURL), nodeName: nodeName,
            excludedPrefixesFile: excludedPrefixesFile), pool: pool, inProcess: inProcess, logger: logger)
        let forwarder = Forwarder(.init(
            name: "forwarder-\(nodeName)", listen: .unix(path: "\(directory)/forwarder.sock"), managerURL: unix, tunnelIP: tunnel,
            labels: try [String: String].parseLabels(labels), vxlanPort: vxlanPort),
            dataPlane: KernelDataPlane(node: try NetlinkHandle(), logger: logger), pool: pool, inProcess: inProcess, logger: logger)
        try await identity.ready()
        let group = ComponentServiceGroup.make(telemetry.around(identity.services + [pool] + manager.services + forwarder.services), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await telemetry.announce()
            for server in manager.servers { printFlushed("manager \(name) listening on \(try await server.listening())") }
            printFlushed("forwarder listening on \(try await forwarder.server.listening()), tunnel \(tunnel)")
            // Requests need the forwarder in the registry, not only listening.
            let registered = try await forwarder.registration.registered.wait()
            ServiceNotification.ready(status: "node \(nodeName): manager \(name) serving, forwarder \(registered.name) registered")
            manager.health.markReady()
            forwarder.health.markReady()
            telemetry.markReady()
            try await tasks.waitForAll()
        }
    }
}
