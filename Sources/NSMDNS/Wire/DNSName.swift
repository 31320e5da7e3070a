/// A domain name, kept as its uncompressed wire form (length-prefixed labels ending in 0).
///
/// Comparison and hashing ignore ASCII case, as DNS does; the original spelling is kept for
/// printing and for echoing a question back exactly as asked.
public struct DNSName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// Wire form without compression, ending with the root label (0).
    public let wire: [UInt8]

    public static let root = DNSName(uncheckedWire: [0])

    init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    /// Parses dotted text (`www.example.org`, trailing dot optional; `.` is the root).
    public init(_ text: String) throws(DNSWireError) {
        if text == "." || text.isEmpty {
            guard text == "." else { throw .badName(text: text, problem: "empty (the root is \".\")") }
            self = .root
            return
        }
        var body = Substring(text)
        if body.hasSuffix(".") { body = body.dropLast() }
        var wire: [UInt8] = []
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty else { throw .badName(text: text, problem: "empty label (two dots in a row)") }
            guard bytes.count <= 63 else { throw .badName(text: text, problem: "label \"\(label)\" is longer than 63 bytes") }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        wire.append(0)
        guard wire.count <= 255 else { throw .badName(text: text, problem: "longer than 255 bytes on the wire") }
        self.wire = wire
    }

    /// The labels, first (leftmost) to last; empty for the root.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = 0
        while wire[index] != 0 {
            let length = Int(wire[index])
            result.append(wire[(index + 1)...(index + length)])
            index += length + 1
        }
        return result
    }

    public var labelCount: Int { labels.count }

    /// Lower-cased wire form: the key for comparisons, caches and compression.
    public var canonicalWire: [UInt8] { wire.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 } }

    /// True if this name equals `domain` or lies under it (`a.b.example.org` under `example.org`).
    public func isSubdomain(of domain: DNSName) -> Bool {
        Self.isSubdomain(canonicalWire, of: domain.canonicalWire)
    }

    /// The same on lower-cased wire forms.
    static func isSubdomain(_ mine: [UInt8], of theirs: [UInt8]) -> Bool {
        guard mine.count >= theirs.count else { return false }
        guard mine.suffix(theirs.count).elementsEqual(theirs) else { return false }
        // The suffix must start on a label boundary of this name.
        var index = 0
        let start = mine.count - theirs.count
        while index < start { index += Int(mine[index]) + 1 }
        return index == start
    }

    /// The name with the first label removed (nil for the root).
    public var parent: DNSName? {
        guard wire[0] != 0 else { return nil }
        return DNSName(uncheckedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// `www.example.org.`; bytes outside printable ASCII, dots and backslashes inside labels are escaped.
    public var description: String {
        guard wire.count > 1 else { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7e: text.unicodeScalars.append(UnicodeScalar(byte))
                default: text += "\\" + (byte < 10 ? "00" : byte < 100 ? "0" : "") + String(byte)
                }
            }
            text += "."
        }
        return text
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.wire.count == rhs.wire.count && lhs.canonicalWire == rhs.canonicalWire
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(canonicalWire) }

    public static func < (lhs: DNSName, rhs: DNSName) -> Bool { lhs.canonicalWire.lexicographicallyPrecedes(rhs.canonicalWire) }
}
