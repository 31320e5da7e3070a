/// A DNS message (RFC 1035 §4): header and the four sections.
public struct DNSMessage: Hashable, Sendable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    public var additionals: [DNSRecord]

    public init(header: DNSHeader = DNSHeader(), questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
                authorities: [DNSRecord] = [], additionals: [DNSRecord] = []) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A query for one question (RD set), with an EDNS0 OPT record if `udpPayloadSize` is given.
    public static func query(_ question: DNSQuestion, id: UInt16, udpPayloadSize: UInt16? = nil) -> DNSMessage {
        var header = DNSHeader(id: id)
        header.recursionDesired = true
        var message = DNSMessage(header: header, questions: [question])
        if let udpPayloadSize { message.edns = EDNS(udpPayloadSize: udpPayloadSize) }
        return message
    }

    /// Parses `bytes`; throws on anything malformed, never traps.
    public init(bytes: [UInt8]) throws(DNSWireError) {
        guard bytes.count <= 65535 else { throw .messageTooLarge(size: bytes.count) }
        var reader = DNSReader(bytes)
        header = DNSHeader(id: try reader.u16("header id"), flags: try reader.u16("header flags"))
        let counts = [try reader.u16("question count"), try reader.u16("answer count"),
                      try reader.u16("authority count"), try reader.u16("additional count")]
        questions = []
        for _ in 0..<counts[0] { questions.append(try reader.question()) }
        answers = []
        authorities = []
        additionals = []
        for _ in 0..<counts[1] { answers.append(try reader.record()) }
        for _ in 0..<counts[2] { authorities.append(try reader.record()) }
        for _ in 0..<counts[3] { additionals.append(try reader.record()) }
    }

    /// The wire form, names compressed.
    public func serialized() -> [UInt8] {
        var writer = DNSWriter()
        writer.u16(header.id)
        writer.u16(header.flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] { writer.u16(UInt16(min(count, 65535))) }
        for question in questions { writer.question(question) }
        for record in answers + authorities + additionals { writer.record(record) }
        return writer.bytes
    }

    /// The wire form, at most `limit` bytes: if the whole message is larger, only the header
    /// (TC set), the questions and the OPT record are sent (RFC 2181 §9, RFC 6891 §7).
    public func serialized(limit: Int) -> [UInt8] {
        let whole = serialized()
        guard whole.count > limit else { return whole }
        var truncated = DNSMessage(header: header, questions: questions, additionals: additionals.filter { $0.type == .opt })
        truncated.header.isTruncated = true
        return truncated.serialized()
    }

    public var question: DNSQuestion? { questions.first }
    public var rcode: DNSRCode { header.rcode }

    /// NOERROR with at least one answer record: what the proxy calls a positive answer.
    public var isPositive: Bool { header.rcode == .noError && !answers.isEmpty }
    /// NXDOMAIN, or NOERROR without answers (NODATA): the name or type does not exist.
    public var isNegative: Bool { header.rcode == .nxDomain || (header.rcode == .noError && answers.isEmpty) }

    /// FORMERR for bytes that do not parse, if they hold a query header to answer to (same id,
    /// opcode and RD); nil for anything shorter or a response.
    public static func formatError(answering bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 12, bytes[2] & 0x80 == 0 else { return nil }
        var header = DNSHeader(id: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), flags: UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        header.flags &= 0x7800 | 0x0100
        header.isResponse = true
        header.rcode = .formErr
        return DNSMessage(header: header).serialized()
    }

    /// A response to this query: same id, question, opcode and RD; QR and RA set.
    public func response(rcode: DNSRCode) -> DNSMessage {
        var header = DNSHeader(id: self.header.id)
        header.isResponse = true
        header.opcode = self.header.opcode
        header.recursionDesired = self.header.recursionDesired
        header.checkingDisabled = self.header.checkingDisabled
        header.recursionAvailable = true
        header.rcode = rcode
        var response = DNSMessage(header: header, questions: questions)
        if edns != nil { response.edns = EDNS(udpPayloadSize: EDNS.defaultPayloadSize) }
        return response
    }
}
