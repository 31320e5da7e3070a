public import NSMAPI
public import NSMCore
import Synchronization

/// Only the caller that created a connection may refresh or close it (upstream's policy, with the
/// caller as the transport established it — ``Caller/identity`` — until SPIFFE identities stand in
/// for it). Connection ids are chosen by clients (`<pod name>-<i>`), so without this any process
/// that reaches the manager could take over or close another pod's connection by naming its id.
///
/// Keeps its own table and sits before ``MetadataElement`` (after ``BeginElement``, which runs
/// one event per id at a time): a refused Close must leave the connection's state alone. Calls
/// from this process (timeouts, the node's manager) pass.
public struct ConnectionOwnerElement: NetworkServiceElement {
    private let table: Table

    final class Table: Sendable {
        let owners = Mutex<[String: String]>([:])
    }

    public init() { table = Table() }

    /// How many connections have a recorded owner.
    public var count: Int { table.owners.withLock { $0.count } }

    /// Who created the connection `id` at this hop (``Caller/identity``), if anyone did.
    public func owner(of id: String) -> String? { table.owners.withLock { $0[id] } }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let id = request.connection.id
        guard let caller = context.caller.identity else { return try await next.request(request, context: context) }
        let (owner, isNew) = table.owners.withLock { owners in
            if let owner = owners[id] { return (owner, false) }
            owners[id] = caller
            return (caller, true)
        }
        guard owner == caller else { throw denied(id, owner: owner, caller: context.caller, doing: "refresh") }
        do {
            return try await next.request(request, context: context)
        } catch {
            if isNew { table.owners.withLock { _ = $0.removeValue(forKey: id) } }
            throw error
        }
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        let id = connection.id
        if let caller = context.caller.identity, let owner = table.owners.withLock({ $0[id] }), owner != caller {
            throw denied(id, owner: owner, caller: context.caller, doing: "close")
        }
        // Closed at this hop whatever happens further down (as the metadata is).
        defer { table.owners.withLock { _ = $0.removeValue(forKey: id) } }
        try await next.close(connection, context: context)
    }

    func denied(_ id: String, owner: String, caller: Caller, doing verb: String) -> NSMError {
        .permissionDenied("connection \(id.prefix(80)) belongs to the \(owner) that created it; only its creator may \(verb) it, and this call comes from \(caller)")
    }
}
