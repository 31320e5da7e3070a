/// Generates kernel interface names for items that do not name one, as upstream does:
/// the first (up to) 10 characters of the service name, a `-`, then random characters
/// from `[0-9A-Za-z]` up to the kernel's 15-byte limit (`my-network-Xy3k`).
public enum InterfaceNameGenerator {
    /// The kernel's limit on interface names, in bytes (IFNAMSIZ - 1).
    public static let maximumLength = 15

    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    public static func name(forService service: String, using generator: inout some RandomNumberGenerator) -> String {
        // At most 10 bytes whatever the name holds (valid names are ASCII), so at least 4 random
        // characters follow: 62^4 names per service.
        let prefix = String(String.UnicodeScalarView(service.unicodeScalars.filter(\.isASCII).prefix(10)))
        let randomCount = maximumLength - prefix.utf8.count - 1
        let suffix = (0..<randomCount).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return prefix + "-" + String(suffix)
    }
}

/// A small, fast, seedable generator (SplitMix64) for reproducible interface names in tests
/// and tools. Not for anything security-related.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
