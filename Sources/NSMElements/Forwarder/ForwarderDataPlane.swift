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
}

/// One connection's plumbing at a forwarder.
public struct Plumbing: Sendable, Hashable {
    /// The connection id at the forwarder.
    public var connectionID: String
    public var incoming: Connection_Mechanism
    public var outgoing: Connection_Mechanism
    public var context: Connectioncontext_ConnectionContext

    public init(connectionID: String, incoming: Connection_Mechanism, outgoing: Connection_Mechanism, context: Connectioncontext_ConnectionContext) {
        self.connectionID = connectionID
        self.incoming = incoming
        self.outgoing = outgoing
        self.context = context
    }
}
