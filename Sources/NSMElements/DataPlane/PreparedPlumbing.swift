/// What a data plane prepared for one connection's incoming side (opaque to the forwarder).
public protocol PreparedPlumbing: Sendable {}
