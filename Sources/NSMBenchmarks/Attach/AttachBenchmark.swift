import ChildProcesses
import Foundation
import Glibc
import IPAddressing
import Netlink

/// Attaches one veth to each of N fresh pod namespaces the way a CNI plugin or NSM's
/// forwarder would (pod end `nsm-1` with a /32 address and a route to the node end, node
/// end with the gateway address and a route back, both ends up), with three methods measured
/// in the same run: this package's netlink library from one process, `ip -batch`, and the
/// CNI reference plugins `ptp` + `host-local`.
///
/// Everything happens in namespaces the benchmark creates: a "node" namespace per method and
/// run, and the pod namespaces. Nothing touches the machine's own namespace.
public struct AttachBenchmark: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        case netlink = "swift-nsm netlink"
        case ipBatch = "ip -batch"
        case cni = "CNI ptp+host-local"
    }

    public struct Result: Sendable {
        public var method: Method
        public var count: Int
        public var attach: Percentiles
        public var namespaceSetupMilliseconds: Double
        public var teardownMilliseconds: Double
        public var verification: String
    }

    public var sizes: [Int]
    public var methods: [Method]
    public var verifySample: Int
    public var log: @Sendable (String) -> Void

    public init(sizes: [Int] = [10, 100, 1000], methods: [Method] = Method.allCases, verifySample: Int = 5, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.sizes = sizes
        self.methods = methods
        self.verifySample = verifySample
        self.log = log
    }

    static let gateway = IPPrefix("169.254.0.1/32")!
    static let linkGroup: UInt32 = 4242

    /// The pod's address: 10.200.0.0/16 for netlink and ip, host-local allocates 10.201.0.0/16 for CNI.
    static func podAddress(_ index: Int) -> IPPrefix {
        IPPrefix(address: .v4(IPv4Address(10, 200, UInt8(index >> 8), UInt8(index & 0xFF))), length: 32)!
    }

    public func run() throws -> [Result] {
        var results: [Result] = []
        let prefix = "nsmb\(getpid())"
        defer { Self.removeLeftovers(prefix: prefix) }
        for size in sizes {
            for (methodIndex, method) in methods.enumerated() {
                let tag = "\(prefix)-\(size)-\(methodIndex)"
                log("N=\(size) \(method.rawValue): creating \(size) pod namespaces")
                var run = try Fixture(tag: tag, count: size)
                defer { run.cleanUp() }
                log("N=\(size) \(method.rawValue): attaching")
                let samples: [Double]
                switch method {
                case .netlink: samples = try attachWithNetlink(&run)
                case .ipBatch: samples = try attachWithIP(&run)
                case .cni: samples = try attachWithCNI(&run)
                }
                let verification = try verify(run, method: method)
                log("N=\(size) \(method.rawValue): verified \(verification); tearing down")
                let teardown: Double
                switch method {
                case .netlink: teardown = try teardownWithNetlink(&run)
                case .ipBatch: teardown = try teardownWithIP(&run)
                case .cni: teardown = try teardownWithCNI(&run)
                }
                results.append(Result(
                    method: method, count: size, attach: Percentiles(samples),
                    namespaceSetupMilliseconds: run.setupMilliseconds, teardownMilliseconds: teardown, verification: verification))
                // Let the kernel finish freeing the previous namespaces before the next method.
                Fixture.settle(count: size)
            }
        }
        return results
    }

    // MARK: - Methods

    /// Our method: one request creates the veth (pod end created directly in the pod namespace
    /// and named there) and, in the same `sendmsg`, gives the node end its address and route;
    /// interface indices are chosen up front so no lookups are needed. A second batch, on a
    /// socket opened in the pod namespace, addresses the pod end, sets it up and adds its route.
    func attachWithNetlink(_ run: inout Fixture) throws -> [Double] {
        let node = try NetlinkHandle(namespace: run.node)
        return try run.pods.enumerated().map { index, pod in
            try measure {
                let hostIndex = Int32(100_000 + index), podIndex: Int32 = 100
                try node.execute(batch: [
                    .addVeth(
                        name: "nsmv\(index)", peer: VethPeer(name: "nsm-1", namespace: pod, index: podIndex),
                        options: LinkOptions(up: true, group: Self.linkGroup, index: hostIndex)),
                    .addAddress(Self.gateway, index: hostIndex),
                    .addRoute(Route(destination: Self.podAddress(index), outputIndex: hostIndex)),
                ])
                try NetlinkHandle(namespace: pod).execute(batch: [
                    .addAddress(Self.podAddress(index), index: podIndex),
                    .setUp(index: podIndex),
                    .addRoute(Route(destination: Self.gateway, outputIndex: podIndex)),
                ])
            }.1
        }
    }

    func attachWithIP(_ run: inout Fixture) throws -> [Double] {
        let ip = try Self.tool("ip")
        return try run.podNames.enumerated().map { index, podName in
            let address = Self.podAddress(index)
            let hostName = "nsmv\(index)"
            let nodeScript = """
                link add \(hostName) group \(Self.linkGroup) type veth peer name nsm-1 netns \(podName)
                link set \(hostName) up
                addr add \(Self.gateway) dev \(hostName)
                route add \(address) dev \(hostName) scope link

                """
            let podScript = """
                addr add \(address) dev nsm-1
                link set nsm-1 up
                route add \(Self.gateway) dev nsm-1 scope link

                """
            return try measure {
                try ChildProcess.run(ip, ["-n", run.nodeName, "-batch", "-"], input: nodeScript)
                try ChildProcess.run(ip, ["-n", podName, "-batch", "-"], input: podScript)
            }.1
        }
    }

    func attachWithCNI(_ run: inout Fixture) throws -> [Double] {
        let ptp = try Self.tool("ptp")
        let pluginDirectory = (ptp as NSString).deletingLastPathComponent
        let dataDirectory = "/tmp/\(run.tag)-cni"
        run.cniDataDirectory = dataDirectory
        let config = """
            {"cniVersion":"1.0.0","name":"\(run.tag)","type":"ptp","ipMasq":false,"mtu":1500,\
            "ipam":{"type":"host-local","ranges":[[{"subnet":"10.201.0.0/16"}]],"dataDir":"\(dataDirectory)"}}
            """
        run.cniConfig = config
        return try run.podNames.enumerated().map { index, podName in
            let environment = [
                "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "\(run.tag)-\(index)", "CNI_NETNS": "/run/netns/\(podName)",
                "CNI_IFNAME": "nsm-1", "CNI_PATH": pluginDirectory, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            ]
            return try measure {
                // Spawned from a thread inside the node namespace: the plugin treats it as the host.
                try run.node.run { try ChildProcess.run(ptp, [], environment: environment, input: config) }
            }.1
        }
    }

    // MARK: - Teardown

    func teardownWithNetlink(_ run: inout Fixture) throws -> Double {
        measureIgnoringErrors {
            let node = try NetlinkHandle(namespace: run.node)
            try node.deleteLinks(group: Self.linkGroup)
            for name in run.podNames { try NetworkNamespace.delete(named: name) }
            run.podsDeleted = true
        }
    }

    func teardownWithIP(_ run: inout Fixture) throws -> Double {
        let ip = try Self.tool("ip")
        return measureIgnoringErrors {
            try ChildProcess.run(ip, ["-n", run.nodeName, "link", "delete", "group", String(Self.linkGroup)])
            try ChildProcess.run(ip, ["-batch", "-"], input: run.podNames.map { "netns delete \($0)\n" }.joined())
            run.podsDeleted = true
        }
    }

    func teardownWithCNI(_ run: inout Fixture) throws -> Double {
        let ptp = try Self.tool("ptp")
        let pluginDirectory = (ptp as NSString).deletingLastPathComponent
        let config = run.cniConfig ?? ""
        return measureIgnoringErrors {
            for (index, podName) in run.podNames.enumerated() {
                let environment = [
                    "CNI_COMMAND": "DEL", "CNI_CONTAINERID": "\(run.tag)-\(index)", "CNI_NETNS": "/run/netns/\(podName)",
                    "CNI_IFNAME": "nsm-1", "CNI_PATH": pluginDirectory, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                ]
                try run.node.run { try ChildProcess.run(ptp, [], environment: environment, input: config) }
                try NetworkNamespace.delete(named: podName)
            }
            run.podsDeleted = true
        }
    }

    func measureIgnoringErrors(_ body: () throws -> Void) -> Double {
        measure {
            do { try body() } catch { log("teardown error: \(error)") }
        }.1
    }

    // MARK: - Verification

    /// Checks a sample of pods through the library, one through `ip -j`, and pings one pod
    /// from the node namespace.
    func verify(_ run: Fixture, method: Method) throws -> String {
        let count = run.pods.count
        let sample = Array(Set(stride(from: 0, to: count, by: max(1, count / max(1, verifySample))).map { $0 } + [count - 1])).sorted()
        var podAddresses: [IPPrefix] = []
        for index in sample {
            let pod = try NetlinkHandle(namespace: run.pods[index])
            let link = try pod.link(named: "nsm-1")
            guard link.isUp, link.kind == .veth else { throw VerificationError("pod \(index): nsm-1 is not an up veth") }
            let addresses = try pod.addresses(family: .v4, index: link.index)
            guard let address = addresses.first?.prefix else { throw VerificationError("pod \(index): nsm-1 has no IPv4 address") }
            guard method == .cni || address == Self.podAddress(index) else { throw VerificationError("pod \(index): address \(address)") }
            guard try pod.routes(family: .v4).contains(where: { $0.outputIndex == link.index && $0.destination.length > 0 }) else {
                throw VerificationError("pod \(index): no route via nsm-1")
            }
            podAddresses.append(address)
        }
        let ip = try Self.tool("ip")
        let json = try ChildProcess.run(ip, ["-j", "-n", run.podNames[sample[0]], "addr", "show", "dev", "nsm-1"])
        guard json.contains("\"\(podAddresses[0].address)\"") else { throw VerificationError("ip -j does not show \(podAddresses[0].address)") }
        if let ping = ChildProcess.find("ping") {
            try run.node.run { try ChildProcess.run(ping, ["-c", "1", "-W", "2", "\(podAddresses.last!.address)"]) }
        }
        return "\(sample.count) pods checked, ip -j agrees, ping ok"
    }

    struct VerificationError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func tool(_ name: String) throws -> String {
        guard let path = ChildProcess.find(name) else {
            throw VerificationError("\(name) not found; run scripts/install-deps.sh (iproute2, containernetworking-plugins)")
        }
        return path
    }

    static func removeLeftovers(prefix: String) {
        for name in NetworkNamespace.names() where name.hasPrefix(prefix) {
            try? NetworkNamespace.delete(named: name)
        }
    }
}
