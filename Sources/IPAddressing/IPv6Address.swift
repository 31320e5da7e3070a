/// An IPv6 address as two 64-bit halves, most significant first.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an address from exactly sixteen bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let array = Array(bytes)
        self.high = array[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        self.low = array[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses RFC 4291 text form, including `::` compression and an embedded IPv4 tail
    /// (`::ffff:192.0.2.1`). Zone identifiers (`%eth0`) are not accepted.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, !text.contains("%") else { return nil }
        var groups: [UInt16] = []
        var gapIndex: Int?
        var pieces: [String] = [text]
        if let gap = text.firstRange(of: "::") {
            pieces = [String(text[..<gap.lowerBound]), String(text[gap.upperBound...])]
            guard !pieces[1].contains("::") else { return nil }
        }
        func parseGroups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if index == fields.count - 1, allowIPv4Tail, field.contains(".") {
                    guard let v4 = IPv4Address(field) else { return nil }
                    result.append(UInt16(v4.value >> 16))
                    result.append(UInt16(v4.value & 0xFFFF))
                    continue
                }
                guard (1...4).contains(field.count), field.allSatisfy(\.isHexDigit),
                      let value = UInt16(field, radix: 16)
                else { return nil }
                result.append(value)
            }
            return result
        }
        if pieces.count == 2 {
            guard let head = parseGroups(pieces[0], allowIPv4Tail: false),
                  let tail = parseGroups(pieces[1], allowIPv4Tail: true),
                  head.count + tail.count <= 7
            else { return nil }
            gapIndex = head.count
            groups = head + tail
        } else {
            guard let all = parseGroups(pieces[0], allowIPv4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        if let gapIndex {
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gapIndex)
        }
        self.high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        self.low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// The eight 16-bit groups.
    public var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    /// The sixteen bytes in network order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    /// Whether the address is in `fe80::/10`.
    public var isLinkLocal: Bool { high >> 54 == 0x3FA }

    /// RFC 5952 canonical text: lower case, longest run (≥ 2) of zero groups as `::`.
    public var description: String {
        let groups = self.groups
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { return groups.map { String($0, radix: 16) }.joined(separator: ":") }
        let head = groups[..<bestStart].map { String($0, radix: 16) }.joined(separator: ":")
        let tail = groups[(bestStart + bestLength)...].map { String($0, radix: 16) }.joined(separator: ":")
        return head + "::" + tail
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
