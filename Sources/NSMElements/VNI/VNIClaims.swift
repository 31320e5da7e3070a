/// The VNIs one request claimed in a ``VNISet``, given back together if the request fails.
/// Used by that request's task only.
final class VNIClaims {
    private let set: VNISet
    private var held: [UInt32] = []

    init(_ set: VNISet) { self.set = set }

    /// Claims a random free VNI and holds it.
    func draw(parity: UInt32?) -> UInt32 {
        let vni = set.draw(parity: parity)
        held.append(vni)
        return vni
    }

    /// Claims `vni` if nobody has it.
    func claim(_ vni: UInt32) -> Bool {
        guard set.claim(vni) else { return false }
        held.append(vni)
        return true
    }

    func release(_ vni: UInt32) {
        held.removeAll { $0 == vni }
        set.release(vni)
    }

    func releaseAll() {
        for vni in held { set.release(vni) }
        held = []
    }
}
