/// The question at byte 12 of a message, read in place: its name lower-cased in wire form
/// (uncompressed only: a compression pointer yields nil), type and class, and where it ends.
/// Shared by the in-place query and response readers.
struct DNSQuestionView {
    var canonicalName: [UInt8]
    /// Length of the name on the wire.
    var nameLength: Int
    var type: UInt16
    var dnsClass: UInt16
    /// Offset just after the question.
    var end: Int

    init?(_ bytes: [UInt8]) {
        let count = bytes.count
        var index = 12
        var name: [UInt8] = []
        name.reserveCapacity(32)
        while true {
            guard index < count else { return nil }
            let length = Int(bytes[index])
            guard length & 0xc0 == 0, index + 1 + length <= count else { return nil }
            name.append(UInt8(length))
            if length == 0 { break }
            for byte in bytes[(index + 1)...(index + length)] { name.append(byte >= 65 && byte <= 90 ? byte | 0x20 : byte) }
            index += 1 + length
            guard name.count <= 255 else { return nil }
        }
        index += 1
        guard index + 4 <= count else { return nil }
        canonicalName = name
        nameLength = index - 12
        type = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        dnsClass = UInt16(bytes[index + 2]) << 8 | UInt16(bytes[index + 3])
        end = index + 4
    }
}
