public import IPAddressing
public import NSMAPI
import Synchronization

/// The addresses and host routes each of one pod's connections holds, by connection id: what a
/// new request of the same pod must exclude.
public final class PodPrefixes: Sendable {
    private let held = Mutex<[String: [IPPrefix]]>([:])

    public init() {}

    /// What the pod's connections other than `id` hold.
    func others(than id: String) -> [IPPrefix] {
        held.withLock { $0.filter { $0.key != id }.values.flatMap { $0 } }
    }

    /// Records `connection`'s prefixes unless one of its addresses lies in another connection's;
    /// returns those addresses (empty when recorded).
    func record(_ connection: Connection_Connection) -> [IPPrefix] {
        let addresses = Self.addresses(connection)
        return held.withLock { held in
            let others = held.filter { $0.key != connection.id }.values.flatMap { $0 }
            let clash = addresses.filter { address in others.contains { $0.contains(address.address) } }
            if clash.isEmpty { held[connection.id] = Self.owned(connection) }
            return clash
        }
    }

    func remove(_ id: String) { held.withLock { _ = $0.removeValue(forKey: id) } }

    static func addresses(_ connection: Connection_Connection) -> [IPPrefix] {
        let ip = connection.context.ipContext
        return ((try? ip.sourcePrefixes()) ?? []) + ((try? ip.destinationPrefixes()) ?? [])
    }

    /// The connection's addresses (as host prefixes) and host routes.
    static func owned(_ connection: Connection_Connection) -> [IPPrefix] {
        let ip = connection.context.ipContext
        let routes = (ip.srcRoutes + ip.dstRoutes).compactMap { try? $0.parsedPrefix() }.filter(\.isHost)
        return addresses(connection).map(\.address.hostPrefix) + routes
    }
}
