/// The few facts the proxy needs from an ordinary query, read in place without building a
/// ``DNSMessage``: id, flags, the one question's name (lower-cased, uncompressed) with type and
/// class, and the EDNS OPT record if any. Anything unusual (not exactly one question, a
/// compressed question name, records in the answer or authority section) yields nil, and the
/// caller falls back to the full parser.
struct DNSQueryView {
    var id: UInt16
    var flags: UInt16
    var question: DNSQuestionView
    /// Lower-cased wire form of the question name.
    var canonicalName: [UInt8] { question.canonicalName }
    /// Length of the question name on the wire (it starts at byte 12).
    var nameLength: Int { question.nameLength }
    var type: UInt16 { question.type }
    var dnsClass: UInt16 { question.dnsClass }
    var hasEDNS = false
    var udpPayloadSize: UInt16 = 512
    var dnssecOK = false
    /// Whether the OPT record carries an option equal to `marker`.
    var carriesMarker = false

    init?(_ bytes: [UInt8], marker: EDNSOption) {
        let count = bytes.count
        guard count >= 17 else { return nil }
        id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        flags = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        guard bytes[4] == 0, bytes[5] == 1, bytes[6] == 0, bytes[7] == 0, bytes[8] == 0, bytes[9] == 0, bytes[10] == 0, bytes[11] <= 1 else { return nil }
        guard let question = DNSQuestionView(bytes) else { return nil }
        self.question = question
        let index = question.end
        if bytes[11] == 1 {
            // The additional record: only an OPT with the root name is read here.
            guard index + 11 <= count, bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 41 else { return nil }
            hasEDNS = true
            udpPayloadSize = UInt16(bytes[index + 3]) << 8 | UInt16(bytes[index + 4])
            dnssecOK = bytes[index + 7] & 0x80 != 0
            let length = Int(bytes[index + 9]) << 8 | Int(bytes[index + 10])
            var option = index + 11
            let end = option + length
            guard end == count else { return nil }
            while option + 4 <= end {
                let code = UInt16(bytes[option]) << 8 | UInt16(bytes[option + 1])
                let size = Int(bytes[option + 2]) << 8 | Int(bytes[option + 3])
                guard option + 4 + size <= end else { return nil }
                if code == marker.code, size == marker.data.count, bytes[(option + 4)..<(option + 4 + size)].elementsEqual(marker.data) { carriesMarker = true }
                option += 4 + size
            }
            guard option == end else { return nil }
        } else {
            guard index == count else { return nil }
        }
    }

    var isResponse: Bool { flags & 0x8000 != 0 }
    var opcode: UInt8 { UInt8((flags >> 11) & 0x0f) }
    var acceptedUDPSize: Int { hasEDNS ? max(512, Int(udpPayloadSize)) : 512 }
}
