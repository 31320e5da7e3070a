// libFuzzer target: the rtnetlink wire decoder (NetlinkWire) — messages, error messages, fixed
// headers and attribute lists as the kernel's replies would carry them — fed any bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetlink(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let messages = try? NetlinkMessage.decodeAll(bytes[...]) else {
        _ = try? NetlinkAttribute.decodeList(bytes[...], context: "fuzz")
        return 0
    }
    for message in messages {
        _ = try? NetlinkErrorMessage(decoding: message)
        var reader = ByteReader(message.payload[...], context: "fuzz")
        if (try? InterfaceInfoHeader(from: &reader)) != nil {
            _ = try? NetlinkAttribute.decodeList(message.payload.dropFirst(16), context: "fuzz")
        }
        var routeReader = ByteReader(message.payload[...], context: "fuzz")
        _ = try? RouteHeader(from: &routeReader)
    }
    return 0
}
