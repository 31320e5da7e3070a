import Foundation
public import IPAddressing
import Metrics
public import NSMAPI
public import NSMCore
import Synchronization

/// Point-to-point address allocation from CIDR pools, as upstream's `point2pointipam`:
/// per connection two host addresses from each pool — the lowest free one for the endpoint
/// (`dst_ip_addrs`), the next for the client (`src_ip_addrs`) — skipping everything covered by
/// the request's `excluded_prefixes`; host routes to each other (`src_routes`, `dst_routes`).
/// A re-request of a known connection keeps its pair; an unknown connection that brings a
/// valid pair from this pool (after an endpoint restart) gets it back. Close frees the pair.
public final class PointToPointIPAM: NetworkServiceElement {
    public let pools: [IPPrefix]

    private struct Allocation: Sendable { var destination: IPAddress; var source: IPAddress }
    private struct State {
        var used: [Set<IPAddress>]
        /// Per pool, an address at or below the lowest free one: every address under it is in
        /// use, so a search for the lowest free pair starts here instead of at the pool's first
        /// address (which made each allocation scan every pair handed out before it).
        var lowestFree: [IPAddress]
        var byConnection: [String: [Int: Allocation]] = [:]

        mutating func take(_ address: IPAddress, pool index: Int, last: IPAddress) {
            used[index].insert(address)
            while used[index].contains(lowestFree[index]), lowestFree[index] < last {
                lowestFree[index] = lowestFree[index].advanced(by: 1)
            }
        }

        mutating func free(_ address: IPAddress, pool index: Int) {
            used[index].remove(address)
            if address < lowestFree[index] { lowestFree[index] = address }
        }
    }
    private let state: Mutex<State>
    /// Per pool: `nsm_ipam_addresses_in_use{pool}`, recorded on each change, and
    /// `nsm_ipam_addresses{pool}`, the pool's size (for IPv6 pools, capped at 2^53).
    private let inUse: [Gauge]

    public init(pools: [IPPrefix]) {
        self.pools = pools.map(\.network)
        self.state = Mutex(State(used: Array(repeating: [], count: pools.count), lowestFree: pools.map(\.network.firstAddress)))
        inUse = self.pools.map { Gauge(label: "nsm_ipam_addresses_in_use", dimensions: [("pool", $0.description)]) }
        for pool in self.pools {
            let hostBits = (pool.address.family == .v4 ? 32 : 128) - pool.length
            Gauge(label: "nsm_ipam_addresses", dimensions: [("pool", pool.description)]).record(hostBits >= 53 ? 9_007_199_254_740_992 : Double(1 << hostBits))
        }
    }

    private func recordUse() {
        let counts = state.withLock { $0.used.map(\.count) }
        for (gauge, count) in zip(inUse, counts) { gauge.record(count) }
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var request = request
        let id = request.connection.id
        var ip = request.connection.context.ipContext
        let excluded = try ip.excludedPrefixList()
        let requestedSources = try ip.sourcePrefixes(), requestedDestinations = try ip.destinationPrefixes()
        let isNew = state.withLock { $0.byConnection[id] == nil }
        let allocations = try state.withLock { state throws(NSMError) -> [Int: Allocation] in
            var result: [Int: Allocation] = [:]
            for (index, pool) in pools.enumerated() {
                if let existing = state.byConnection[id]?[index], !Self.isExcluded(existing, excluded) {
                    result[index] = existing
                    continue
                }
                if let existing = state.byConnection[id]?[index] {
                    state.free(existing.destination, pool: index)
                    state.free(existing.source, pool: index)
                }
                if let recovered = Self.recover(pool, requestedSources, requestedDestinations, excluded, used: state.used[index]) {
                    result[index] = recovered
                } else {
                    result[index] = try Self.allocate(pool, from: state.lowestFree[index], excluded: excluded, used: state.used[index])
                }
                state.take(result[index]!.destination, pool: index, last: pool.lastAddress)
                state.take(result[index]!.source, pool: index, last: pool.lastAddress)
            }
            state.byConnection[id] = result
            return result
        }
        recordUse()
        for index in pools.indices {
            guard let allocation = allocations[index] else { continue }
            let source = allocation.source.hostPrefix, destination = allocation.destination.hostPrefix
            // Replace stale addresses of this family left from an earlier allocation.
            ip.srcIpAddrs.removeAll { IPPrefix($0).map { pools[index].contains($0.address) && $0 != source } ?? false }
            ip.dstIpAddrs.removeAll { IPPrefix($0).map { pools[index].contains($0.address) && $0 != destination } ?? false }
            ip.addSource(source)
            ip.addDestination(destination)
            ip.addSourceRoute(destination)
            ip.addDestinationRoute(source)
        }
        request.connection.context.ipContext = ip
        do {
            return try await next.request(request, context: context)
        } catch {
            if isNew { release(id) }
            throw error
        }
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        release(connection.id)
        try await next.close(connection, context: context)
    }

    /// Number of connections holding addresses.
    public var allocatedConnections: Int { state.withLock { $0.byConnection.count } }

    private func release(_ id: String) {
        state.withLock { state in
            guard let allocations = state.byConnection.removeValue(forKey: id) else { return }
            for (index, allocation) in allocations {
                state.free(allocation.destination, pool: index)
                state.free(allocation.source, pool: index)
            }
        }
        recordUse()
    }

    private static func isExcluded(_ allocation: Allocation, _ excluded: [IPPrefix]) -> Bool {
        excluded.contains { $0.contains(allocation.destination) || $0.contains(allocation.source) }
    }

    private static func recover(
        _ pool: IPPrefix, _ sources: [IPPrefix], _ destinations: [IPPrefix], _ excluded: [IPPrefix], used: Set<IPAddress>
    ) -> Allocation? {
        guard let source = sources.first(where: { pool.contains($0.address) })?.address,
              let destination = destinations.first(where: { pool.contains($0.address) })?.address,
              source != destination, !used.contains(source), !used.contains(destination)
        else { return nil }
        let allocation = Allocation(destination: destination, source: source)
        return isExcluded(allocation, excluded) ? nil : allocation
    }

    /// The two lowest free addresses of `pool` outside `excluded`, searching from `start`
    /// (everything below it is in use).
    private static func allocate(_ pool: IPPrefix, from start: IPAddress, excluded: [IPPrefix], used: Set<IPAddress>) throws(NSMError) -> Allocation {
        let relevant = excluded.filter { $0.family == pool.family && $0.overlaps(pool) }
        var found: [IPAddress] = []
        var address = pool.contains(start) ? start : pool.firstAddress
        let last = pool.lastAddress
        while found.count < 2 {
            if let covering = relevant.first(where: { $0.contains(address) }) {
                // Jump past the whole excluded prefix.
                let after = covering.lastAddress
                if after >= last { break }
                address = after.advanced(by: 1)
                continue
            }
            if !used.contains(address) { found.append(address) }
            if address == last { break }
            address = address.advanced(by: 1)
        }
        guard found.count == 2 else {
            throw .resourceExhausted("IPAM pool \(pool) has no two free addresses left outside the excluded prefixes")
        }
        return Allocation(destination: found[0], source: found[1])
    }
}
