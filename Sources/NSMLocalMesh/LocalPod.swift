public import ChildProcesses
import Foundation
public import IPAddressing
import Logging
public import Netlink
import NetlinkWire
import NSMDNS
public import NSMRuntime

/// A pod of the local cluster: a network namespace with `eth0` on the cluster network (an
/// address from 10.244.0.0/16, the cluster DNS and services routed through the fabric) and its
/// own resolv.conf as kubelet would write it, at `/etc/netns/<namespace>/resolv.conf` — the file
/// `ip netns exec` shows to commands as `/etc/resolv.conf`.
public final class LocalPod: Sendable {
    public static let etcDirectory = "/etc/netns"

    public let name: String
    public let namespaceName: String
    public let namespace: NetworkNamespace
    public let address: IPAddress

    public var resolvConfPath: String { "\(Self.etcDirectory)/\(namespaceName)/resolv.conf" }

    /// Creates the pod's namespace, plugs it into the cluster network and writes its resolv.conf.
    public init(cluster: LocalCluster, name: String) throws {
        self.name = name
        namespaceName = cluster.namespaceName(name)
        let namespace = try NetworkNamespace.create(named: namespaceName)
        self.namespace = namespace
        do {
            let handle = try NetlinkHandle(namespace: namespace)
            try handle.setUp(index: 1)
            let fabric = try NetworkNamespace.open(named: cluster.namespaceName("fabric"))
            let fabricHandle = try NetlinkHandle(namespace: fabric)
            let bridge = try fabricHandle.link(named: "br0")
            // The fabric-side name is the lease: creating it fails while another pod holds it.
            var chosen: IPAddress?
            for slot in 2..<65_000 where try Self.plug(fabricHandle, slot: slot, bridge: bridge.index, pod: namespace) {
                chosen = LocalCluster.podGateway.network.address.advanced(by: UInt64(slot))
                break
            }
            guard let address = chosen else { throw LocalMeshError("no free pod address in \(LocalCluster.podGateway.network)") }
            self.address = address
            let eth0 = try handle.link(named: "eth0")
            try handle.execute(batch: [
                .addAddress(IPPrefix(address: address, length: LocalCluster.podGateway.length)!, index: eth0.index),
                .setUp(index: eth0.index),
            ])
            try handle.addRoute(Route(destination: LocalCluster.serviceCIDR, gateway: LocalCluster.podGateway.address, outputIndex: eth0.index))
            try FileManager.default.createDirectory(atPath: "\(Self.etcDirectory)/\(namespaceName)", withIntermediateDirectories: true)
            try LocalCluster.podResolvConf.write(toFile: resolvConfPath, atomically: false, encoding: .utf8)
        } catch {
            try? NetworkNamespace.delete(named: namespaceName)
            try? FileManager.default.removeItem(atPath: "\(Self.etcDirectory)/\(namespaceName)")
            throw error
        }
    }

    /// Creates fabric-side `p<slot>` with the pod's `eth0`; false if the slot is taken.
    private static func plug(_ fabric: NetlinkHandle, slot: Int, bridge: Int32, pod: NetworkNamespace) throws(NetlinkError) -> Bool {
        do {
            try fabric.addVeth(name: "p\(slot)", peer: VethPeer(name: "eth0", namespace: pod), options: LinkOptions(up: true, masterIndex: bridge))
            return true
        } catch {
            if error.code == .exists { return false }
            throw error
        }
    }

    /// The pod's DNS proxy: listening on 127.0.0.1:53 inside the pod, rewriting its resolv.conf.
    public func makeDNS(logger: Logger) throws -> PodDNS {
        let namespace = self.namespace
        return try PodDNS(.init(resolvConfPath: resolvConfPath, threadSetup: { try namespace.moveCurrentThread() }), logger: logger)
    }

    /// `ip netns exec` into the pod: its network namespace and its /etc files.
    var inPod: [String] {
        [FileManager.default.fileExists(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip", "netns", "exec", namespaceName]
    }

    /// `argv` started in the pod with the signal state a shell gives a command: it can be stopped
    /// with SIGINT and SIGTERM.
    public func child(_ argv: [String]) throws -> ChildProcess {
        try ChildProcess(inPod + argv)
    }

    /// Runs `argv` in the pod and returns its status and output (standard output, then error).
    public func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        let result = try ChildProcess.capture(inPod[0], Array(inPod.dropFirst()) + argv)
        return (result.status, result.output + result.errors)
    }

    /// Deletes the namespace (its eth0 pair with it) and the pod's /etc files.
    public func destroy() {
        try? NetworkNamespace.delete(named: namespaceName)
        try? FileManager.default.removeItem(atPath: "\(Self.etcDirectory)/\(namespaceName)")
    }
}
