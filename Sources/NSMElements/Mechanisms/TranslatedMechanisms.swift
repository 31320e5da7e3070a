public import NSMAPI
public import NSMCore

/// Both sides of a connection at a forwarder, as the last Request settled them.
public struct TranslatedMechanisms: Sendable, MetadataKey {
    public typealias Value = TranslatedMechanisms
    /// Toward the previous hop (the client's interface, or the tunnel from another node).
    public var incoming: Connection_Mechanism
    /// Toward the next hop, as it answered.
    public var outgoing: Connection_Mechanism
}
