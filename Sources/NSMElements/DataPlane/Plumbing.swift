public import NSMAPI

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
