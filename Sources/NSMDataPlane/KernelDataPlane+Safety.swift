import Netlink
import NSMCore
import NSMElements

/// What keeps the data plane from damaging what works: another connection's interface is never
/// touched, and what a failed request made is removed.
extension KernelDataPlane {
    /// Refuses to touch an existing client-side interface that another connection owns (its
    /// alias names another connection id): a second Request that does not carry the first's path
    /// must fail without rewriting what works.
    static func checkOwner(_ link: Link, connectionID: String) throws {
        guard let alias = link.alias, alias.hasPrefix(PodNamespaceClaims.clientAliasPrefix),
              alias != PodNamespaceClaims.clientAlias(connectionID)
        else { return }
        let owner = alias.dropFirst(PodNamespaceClaims.clientAliasPrefix.count)
        throw NSMError.alreadyExists("interface \(link.name) in the client's namespace belongs to connection \(owner), not \(connectionID); a Request for it must carry that connection's path")
    }

    /// Runs `body`; when it fails, deletes the interface `name` just made for it (nothing half-made stays).
    static func removing(_ name: String, in handle: NetlinkHandle, onFailureOf body: () throws -> Void) throws {
        do { try body() } catch {
            try? handle.deleteLink(named: name)
            throw error
        }
    }

    /// Runs a netlink operation (a creation, a deletion) and returns its error instead of throwing it.
    static func failure(of body: () throws(NetlinkError) -> Void) -> NetlinkError? {
        do { try body() } catch { return error }
        return nil
    }
}

extension KernelDataPlane {
    /// A locally administered unicast MAC from the connection id and side (FNV-1a): stable for
    /// the connection, different between its two tunnel ends and between connections.
    static func tunnelMAC(connectionID: String, side: ConnectionContextApplier.Side) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(connectionID.utf8) + [side == .client ? 0x63 : 0x65] {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let bytes = withUnsafeBytes(of: hash.bigEndian, Array.init)
        return [0x02] + bytes[3..<8]
    }
}
