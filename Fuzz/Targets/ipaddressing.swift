// libFuzzer target: address and prefix text parsing (IPAddressing), with round trips.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIPAddressing(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let address = IPAddress(text) {
        precondition(IPAddress(address.description) == address, "\(text) → \(address) does not read back")
    }
    if let prefix = IPPrefix(text) {
        precondition(IPPrefix(prefix.description) == prefix, "\(text) → \(prefix) does not read back")
    }
    _ = IPAddress(bytes: Array(text.utf8.prefix(16)))
    return 0
}
