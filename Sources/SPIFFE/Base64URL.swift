/// Base64url without padding (RFC 4648 §5), as JWTs use it. Written over bytes: the Foundation
/// route (standard base64, then three `replacingOccurrences`) cost more than the ES256 signature
/// itself on every hop of every Request.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            var group: UInt32 = 0
            var taken = 0
            while taken < 3, index != bytes.endIndex {
                group |= UInt32(bytes[index]) << (16 - 8 * taken)
                taken += 1
                index = bytes.index(after: index)
            }
            for symbol in 0...taken { output.append(alphabet[Int((group >> (18 - 6 * symbol)) & 0x3F)]) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of `text`, or nil if it holds a character outside the alphabet, padding, or a
    /// length no encoder produces.
    static func decode(_ text: Substring) -> [UInt8]? {
        let symbols = text.utf8
        guard symbols.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count * 3 / 4)
        var group: UInt32 = 0
        var held = 0
        for symbol in symbols {
            let value = values[Int(symbol)]
            guard value != 0xFF else { return nil }
            group = group << 6 | UInt32(value)
            held += 1
            if held == 4 {
                output.append(UInt8(truncatingIfNeeded: group >> 16))
                output.append(UInt8(truncatingIfNeeded: group >> 8))
                output.append(UInt8(truncatingIfNeeded: group))
                group = 0
                held = 0
            }
        }
        if held == 2 {
            output.append(UInt8(truncatingIfNeeded: group >> 4))
        } else if held == 3 {
            output.append(UInt8(truncatingIfNeeded: group >> 10))
            output.append(UInt8(truncatingIfNeeded: group >> 2))
        }
        return output
    }
}
