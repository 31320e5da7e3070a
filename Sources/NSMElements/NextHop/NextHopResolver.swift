public import NSMAPI
public import NSMCore

/// Finds a connection's next hop from what the connection itself says (its path and endpoint
/// name), for a Close that reaches a hop which no longer remembers it (restarted).
public protocol NextHopResolver: Sendable {
    func nextHop(for connection: Connection_Connection) async throws -> NSMURL?
}
