public import NSMAPI

/// What the forwarder asks of its data plane: plumb one connection between the mechanism
/// toward the previous hop (`incoming`: the client's KERNEL interface, or a VXLAN tunnel from
/// another node) and the mechanism toward the next hop (`outgoing`: the endpoint's KERNEL
/// interface, or a VXLAN tunnel to another node), applying the connection context.
///
/// The Linux implementation (veth / VXLAN through netlink) lives in the data plane module;
/// tests use an implementation that records calls.
public protocol ForwarderDataPlane: Sendable {
    /// Creates or refreshes (idempotently) the plumbing of a connection.
    func connect(_ plumbing: Plumbing) async throws
    /// Removes the plumbing of a connection; removing an unknown one is not an error.
    func disconnect(_ plumbing: Plumbing) async throws
    /// Work that needs only the incoming side (e.g. finding the client's namespace), done while
    /// the next hop is being asked; nil when there is none. `expected` is the outgoing mechanism
    /// the next hop will most likely answer with (its interface name and namespace), when the
    /// forwarder can tell: the data plane may start on it too (e.g. make the veth pair), and
    /// ``connect(_:prepared:)`` checks it against the real answer. Hand a result that will not be
    /// connected to ``discard(_:)``.
    func prepare(_ incoming: Connection_Mechanism, expecting expected: Connection_Mechanism?) async throws -> (any PreparedPlumbing)?
    /// Undoes what ``prepare(_:expecting:)`` made when the next hop refused the connection.
    func discard(_ prepared: any PreparedPlumbing) async
    /// ``connect(_:)`` with what ``prepare(_:expecting:)`` made for the same incoming side.
    func connect(_ plumbing: Plumbing, prepared: (any PreparedPlumbing)?) async throws
}

extension ForwarderDataPlane {
    public func prepare(_ incoming: Connection_Mechanism, expecting expected: Connection_Mechanism?) async throws -> (any PreparedPlumbing)? { nil }
    public func discard(_ prepared: any PreparedPlumbing) async {}
    public func connect(_ plumbing: Plumbing, prepared: (any PreparedPlumbing)?) async throws { try await connect(plumbing) }
}
