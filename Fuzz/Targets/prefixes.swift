// libFuzzer target: the excluded-prefixes file reader (ExcludedPrefixesFile.parse: YAML by Yams,
// then CIDR prefixes), fed any text. Invariants: what it accepts are networks (no host bits) that
// print and read back the same.
import IPAddressing

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrefixes(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let prefixes = try? ExcludedPrefixesFile.parse(text) else { return 0 }
    for prefix in prefixes {
        precondition(prefix.network == prefix, "accepted \(prefix) with host bits set")
        precondition(IPPrefix(prefix.description) == prefix, "\(prefix) does not read back")
    }
    return 0
}
