import Synchronization

/// VNIs in use by one forwarder's tunnels (claimed when drawn, released when the tunnel goes).
final class VNISet: Sendable {
    private let used = Mutex<Set<UInt32>>([])

    /// Takes `vni` if nobody has it.
    func claim(_ vni: UInt32) -> Bool { used.withLock { $0.insert(vni).inserted } }

    func release(_ vni: UInt32) { _ = used.withLock { $0.remove(vni) } }

    var count: Int { used.withLock { $0.count } }

    /// Claims a random free VNI (2 … 2²⁴−1), of the given parity when there is one.
    func draw(parity: UInt32?) -> UInt32 {
        var vni: UInt32 = 0
        repeat {
            vni = UInt32.random(in: 2...(1 << 24) - 1)
            if let parity, vni % 2 != parity { vni -= 1 }
            vni = max(vni, 2)
        } while !claim(vni)
        return vni
    }
}
