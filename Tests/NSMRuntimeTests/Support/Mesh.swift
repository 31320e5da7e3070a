import Foundation
import Glibc
import IPAddressing
import Logging
import NSMAPI
import NSMCore
import NSMRegistry
import Readiness
import ChildProcesses
import NSMAnnotation
import SwiftProtobuf
import NSMElements
import NSMRuntime
import Netlink
import ServiceLifecycle
import Synchronization

/// A whole mesh in one process over real sockets: a registry (TCP), and per node a manager
/// (unix + TCP) and a forwarder (unix) with a recording data plane; endpoints are added per test.
/// Everything runs as child tasks of the test and is cancelled when the body returns.
final class Mesh: Sendable {
    struct Node: Sendable {
        var name: String
        var manager: Manager
        var forwarder: Forwarder
        var dataPlane: RecordingDataPlane
        var kernelDataPlane: (any ForwarderDataPlane)?
        var managerUnix: NSMURL
        var managerTCP: NSMURL
        var tunnelIP: IPAddress
    }

    let directory: String
    let pool = GRPCClientPool(identity: nil)
    let registry: RegistryServer
    let registryURL: NSMURL
    let nodes: [Node]
    /// Each component gets its own client pool, as each is its own process in production.
    let componentPools: [GRPCClientPool]
    let logger: Logger
    let runner: ServiceRunner
    private let registryHandle = Mutex<ServiceRunner.Handle?>(nil)
    private let placeholder = Mutex<Int32?>(nil)

    /// `inProcess`: the manager calls its forwarder directly, as in `nsm node`; otherwise over gRPC.
    init(nodes count: Int, expirePeriod: Duration = .seconds(60), excludedPrefixesFile: String? = nil,
         dataPlanes: [(plane: any ForwarderDataPlane, tunnelIP: IPAddress)]? = nil, inProcess: Bool = true) throws {
        directory = NSTemporaryDirectory() + "nsm-mesh-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["NSM_TEST_LOG"] == nil ? .critical : .debug
        self.logger = logger
        registryURL = .tcp(host: "127.0.0.1", port: try freePort())
        registry = RegistryServer(.init(listen: [registryURL], expirePeriod: expirePeriod, identity: nil), logger: logger)
        var nodes: [Node] = []
        var pools: [GRPCClientPool] = []
        for index in 0..<count {
            let managerPool = GRPCClientPool(identity: nil), forwarderPool = GRPCClientPool(identity: nil)
            pools += [managerPool, forwarderPool]
            let name = "node-\(index)"
            let unix = NSMURL.unix(path: "\(directory)/\(name)/nsm.io.sock")
            let tcp = NSMURL.tcp(host: "127.0.0.1", port: try freePort())
            let hops = inProcess ? InProcessHops() : nil
            var managerConfiguration = Manager.Configuration(
                name: "nsmgr-\(name)", listenUnix: unix, listenTCP: tcp, registryURL: registryURL, nodeName: name,
                excludedPrefixesFile: excludedPrefixesFile)
            // Pods are made-up namespace inodes unless the test brings real data planes (and real namespaces).
            managerConfiguration.checksCallerNamespace = dataPlanes != nil
            let manager = Manager(managerConfiguration, pool: managerPool, inProcess: hops, logger: logger)
            let dataPlane = RecordingDataPlane()
            let tunnel = dataPlanes?[index].tunnelIP ?? IPAddress("192.168.100.\(index + 1)")!
            var forwarderConfiguration = Forwarder.Configuration(
                name: "forwarder-\(name)", listen: .unix(path: "\(directory)/\(name)/forwarder.sock"), managerURL: unix, tunnelIP: tunnel)
            forwarderConfiguration.checksCallerNamespace = dataPlanes != nil
            // Endpoints run in this process, naming other namespaces: nothing for the kernel to confirm.
            forwarderConfiguration.checksEndpointNamespace = false
            let forwarder = Forwarder(forwarderConfiguration,
                dataPlane: dataPlanes?[index].plane ?? dataPlane, pool: forwarderPool, inProcess: hops, logger: logger)
            nodes.append(Node(name: name, manager: manager, forwarder: forwarder, dataPlane: dataPlane, kernelDataPlane: dataPlanes?[index].plane,
                              managerUnix: unix, managerTCP: tcp, tunnelIP: tunnel))
        }
        self.nodes = nodes
        componentPools = pools
        runner = ServiceRunner()
    }

    /// Starts the registry and the nodes; returns once forwarders are registered.
    func start() async throws {
        runner.start([pool] + componentPools)
        let handle = runner.start(registry.services)
        registryHandle.withLock { $0 = handle }
        _ = try await registry.servers[0].listening()
        for node in nodes {
            runner.start(node.manager.services)
            for server in node.manager.servers { _ = try await server.listening() }
            runner.start(node.forwarder.services)
            _ = try await node.forwarder.server.listening()
        }
        for node in nodes { _ = try await ready("\(node.forwarder.configuration.name) registered", node.forwarder.registration.registered) }
    }

    /// Registers (or replaces) a network service and waits until every forwarder's discovery
    /// sees its matches (their registry views follow the registry through a watch).
    func registerService(_ service: Registry_NetworkService) async throws {
        _ = try registry.storage.register(service)
        for node in nodes {
            try await waitUntil("\(node.forwarder.configuration.name) to see \(service.name)") {
                try await node.forwarder.registryView.networkService(named: service.name)?.matches == service.matches
            }
        }
    }

    /// Starts an endpoint on `node`; returns it once registered. Stop it with `stop(_:)`.
    @discardableResult
    func addEndpoint(
        _ name: String, node: Int, services: [String], labels: [String: String] = [:], cidr: [String] = ["172.16.1.0/24"],
        routes: [String] = [], dns: [Connectioncontext_DNSConfig] = [], namespaceURL: String? = nil
    ) async throws -> (Endpoint, ServiceRunner.Handle) {
        let endpointPool = GRPCClientPool(identity: nil)
        let endpoint = try Endpoint(.init(
            name: name, serviceNames: services, labels: labels, cidrPrefixes: cidr.map { IPPrefix($0)! },
            routes: routes.map { IPPrefix($0)! }, dnsConfigs: dns,
            listen: .unix(path: "\(directory)/\(nodes[node].name)/\(name).sock"), managerURL: nodes[node].managerUnix,
            namespaceURL: namespaceURL ?? "inode://4/\(4_026_530_000 + UInt64(abs(name.hashValue % 1000)))"), pool: endpointPool, logger: logger)
        let handle = runner.start([endpointPool] + endpoint.services)
        _ = try await endpoint.server.listening()
        _ = try await ready("endpoint \(name) registered", endpoint.registration.registered)
        return (endpoint, handle)
    }

    /// A started client pool whose connections pass `namespace` (a pod's client, in the test's process).
    func pool(speakingFor namespace: NetworkNamespace) -> GRPCClientPool {
        let pool = GRPCClientPool(passingNamespace: namespace.path, identity: nil)
        _ = runner.start([pool])
        return pool
    }

    /// A client for a pod: a made-up namespace inode by default, or a real namespace, which its
    /// connections then pass to the manager (as a pod's own client would be in it).
    func client(_ annotation: String, node: Int = 0, name: String = "pod-\(UUID().uuidString.prefix(6))", namespaceURL: String = "inode://4/4026539999",
                namespace: NetworkNamespace? = nil,
                onConnectionsChange: (@Sendable ([Connection_Connection]) -> Void)? = nil,
                onEvent: (@Sendable (NSMClientEvent) -> Void)? = nil, liveness: LivenessCheck? = nil) throws -> NSMClient {
        let pool = namespace.map { self.pool(speakingFor: $0) } ?? self.pool
        var configuration = NSMClient.Configuration(
            name: name, managerURL: nodes[node].managerUnix, annotation: try NetworkServiceAnnotation.parse(annotation),
            labels: ["podName": name], namespaceURL: namespace?.identity.url ?? namespaceURL, requestTimeout: .seconds(30),
            onConnectionsChange: onConnectionsChange, onEvent: onEvent)
        configuration.liveness = liveness
        return NSMClient(configuration, pool: pool, logger: logger)
    }

    /// Stops the registry (an outage: its sockets close); the rest of the mesh goes on. Its port
    /// stays taken by a socket that does not listen (connections are refused, as to a dead
    /// registry), so no other test's registry can start there and answer in its place.
    func stopRegistry() async throws {
        guard let handle = registryHandle.withLock({ handle in defer { handle = nil }; return handle }) else { return }
        await runner.kill(handle)
        guard case .tcp(_, let port) = registryURL else { return }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            close(fd)
            // An outgoing connection of another test may use the number as its local port, which
            // keeps the registry just as away; only a listener there would not.
            if Self.accepts(port: port) {
                let who = (try? ChildProcess.capture("/usr/bin/ss", ["-tanp", "sport = :\(port)"]))?.output ?? ""
                throw MeshError("the stopped registry's port \(port) was taken by a listener before it could be held: \(who)")
            }
            return
        }
        placeholder.withLock { $0 = fd }
    }

    /// Whether something listens on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    func stop() async {
        await runner.stopAll()
        if let fd = placeholder.withLock({ $0 }) { close(fd) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` with a started mesh and always tears it down.
    static func with<T: Sendable>(
        nodes: Int = 2, expirePeriod: Duration = .seconds(60), excludedPrefixesFile: String? = nil,
        dataPlanes: [(plane: any ForwarderDataPlane, tunnelIP: IPAddress)]? = nil, inProcess: Bool = true, _ body: (Mesh) async throws -> T
    ) async throws -> T {
        let mesh = try Mesh(nodes: nodes, expirePeriod: expirePeriod, excludedPrefixesFile: excludedPrefixesFile, dataPlanes: dataPlanes, inProcess: inProcess)
        do {
            try await mesh.start()
            let result = try await body(mesh)
            await mesh.stop()
            return result
        } catch {
            await mesh.stop()
            throw error
        }
    }
}

private let handedOutPorts = Mutex<Set<Int>>([])

/// 127.0.0.1:`port` as a socket address.
func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}

/// A free loopback TCP port below the kernel's ephemeral range (32768–60999 by default): no
/// socket bound to port 0 and no outgoing connection of another test can take it while a test
/// has it free on purpose (a registry stopped and started again on the same port). A port is
/// handed out once per test process: two suites running at once never get the same one between
/// the check and their bind.
func freePort() throws -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_000)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if bound == 0 { return port }
    }
    throw MeshError("no free port in 20000-31999 after 200 tries")
}

struct Timeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw Timeout(what: what)
}

/// A test mesh that could not be set up as asked.
struct MeshError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits for `signal`, for up to `seconds`.
func ready<T: Sendable>(_ what: String, _ signal: ReadySignal<T>, seconds: Double = 10) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await signal.wait() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        defer { group.cancelAll() }
        guard let value = try await group.next() ?? nil else { throw Timeout(what: what) }
        return value
    }
}
