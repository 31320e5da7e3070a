// libFuzzer target: the DNS wire reader (DNSMessage), the in-place query and response views the
// proxy answers from, and the FORMERR builder, fed any bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? DNSMessage(bytes: bytes) {
        // What we read we can write, and read back the same.
        let written = message.serialized()
        guard let again = try? DNSMessage(bytes: written) else { preconditionFailure("a message read from bytes does not read back once written") }
        precondition(again.serialized() == written, "writing a message is not stable")
        _ = message.serialized(limit: 512)
    }
    if let query = DNSQueryView(bytes, marker: EDNSOption(code: 65001, data: [1, 2])) {
        precondition(query.question.end <= bytes.count, "question past the end")
    }
    if let response = DNSResponseView(bytes) {
        _ = response.removingOPT(from: bytes)
    }
    if let error = DNSMessage.formatError(answering: bytes) {
        precondition(error.count >= 12, "FORMERR shorter than a header")
    }
    return 0
}
