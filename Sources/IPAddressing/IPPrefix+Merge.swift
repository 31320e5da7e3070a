extension IPPrefix {
    /// `prefixes` as networks, without duplicates and without any prefix another one contains:
    /// IPv4 first, then IPv6, each in address order.
    public static func merged(_ prefixes: [IPPrefix]) -> [IPPrefix] {
        let networks = Set(prefixes.map(\.network)).sorted { a, b in
            if a.family != b.family { return a.family == .v4 }
            if a.firstAddress != b.firstAddress { return a.firstAddress < b.firstAddress }
            return a.length < b.length
        }
        var result: [IPPrefix] = []
        for prefix in networks where !result.contains(where: { $0.contains(prefix) }) {
            result.append(prefix)
        }
        return result
    }
}
