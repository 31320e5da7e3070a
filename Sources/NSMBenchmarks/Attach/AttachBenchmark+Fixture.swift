import Foundation
import Glibc
import Netlink

extension AttachBenchmark {
    /// The namespaces of one measured run: a node namespace and `count` pod namespaces.
    struct Fixture {
        let tag: String
        let nodeName: String
        let node: NetworkNamespace
        let podNames: [String]
        var pods: [NetworkNamespace]
        let setupMilliseconds: Double
        var podsDeleted = false
        var cniDataDirectory: String?
        var cniConfig: String?

        init(tag: String, count: Int) throws {
            self.tag = tag
            nodeName = "\(tag)-node"
            podNames = (0..<count).map { "\(tag)-\($0)" }
            let start = monotonicNanoseconds()
            node = try NetworkNamespace.create(named: nodeName)
            try NetlinkHandle(namespace: node).setUp(index: 1)  // lo
            var pods: [NetworkNamespace] = []
            for name in podNames { pods.append(try NetworkNamespace.create(named: name)) }
            self.pods = pods
            setupMilliseconds = Double(monotonicNanoseconds() - start) / 1e6
        }

        mutating func cleanUp() {
            if !podsDeleted { for name in podNames { try? NetworkNamespace.delete(named: name) } }
            try? NetworkNamespace.delete(named: nodeName)
            if let directory = cniDataDirectory { try? FileManager.default.removeItem(atPath: directory) }
            pods = []
        }

        /// Gives the kernel time to finish freeing deleted namespaces (it does so asynchronously)
        /// so the next method is not measured against that background work.
        static func settle(count: Int) {
            usleep(UInt32(min(5.0, 0.5 + Double(count) * 0.003) * 1_000_000))
        }
    }
}
