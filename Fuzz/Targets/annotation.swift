// libFuzzer target: the pod annotation parser (NSMAnnotation), fed any text.
// Built by scripts/fuzz.sh with the module's sources; invariants checked, not just "no crash".

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAnnotation(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let parsed = try? NetworkServiceAnnotation.parse(text) else { return 0 }
    // Every accepted item names a service and an interface name the kernel takes (≤ 15 bytes).
    for service in parsed.services {
        precondition(!service.service.isEmpty, "accepted an item without a service: \(text)")
        precondition(service.interfaceName.utf8.count <= 15, "interface name over 15 bytes: \(service.interfaceName)")
    }
    return 0
}
