import Foundation

/// What `nsm bench heal` breaks, in the order it breaks them.
public enum HealFault: String, CaseIterable, Sendable {
    /// The endpoint serving most pods killed with SIGKILL and its namespace deleted (its pod is
    /// gone): its pods are expected to move to the other endpoint.
    case endpointKilled = "endpoint-killed"
    /// Each pod's interface deleted: expected back by a Request along the same path.
    case podInterfaceDeleted = "pod-interface-deleted"
    /// The endpoints' side of every connection deleted.
    case endpointInterfaceDeleted = "endpoint-interface-deleted"
    /// The underlay between the nodes blackholed (a blackhole route to the other node on each),
    /// then repaired; timed from the repair.
    case underlayBlackholed = "underlay-blackholed"
    /// The pods' node process (manager and forwarder) killed with SIGKILL and started again:
    /// the data path lives in the kernel, no probe should be lost.
    case nodeRestarted = "node-restarted"
    /// The endpoints' node process killed and started again.
    case remoteNodeRestarted = "remote-node-restarted"
    /// The registry killed and started again (empty: its registrants register again).
    case registryRestarted = "registry-restarted"

    /// Whether the fault restarts a process instead of cutting the data path.
    var isRestart: Bool { [.nodeRestarted, .remoteNodeRestarted, .registryRestarted].contains(self) }

    /// Parses `--faults`: comma-separated names.
    public static func parse(_ text: String) throws -> [HealFault] {
        try text.split(separator: ",").map { name in
            guard let fault = HealFault(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw LocalMeshError("--faults: \"\(name.prefix(60))\" is not a fault; accepted: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return fault
        }
    }
}
