public import GRPCCore
public import NIOCore
public import NIOHPACK

/// The parts of gRPC over HTTP/2 (grpc/PROTOCOL-HTTP2.md) a unary call needs: the
/// length-prefixed message, the request headers, `grpc-timeout`, and the status a response ends
/// with (`grpc-status`/`grpc-message` trailers, or the HTTP status when there are none).
/// Custom metadata of a call, in order: ASCII names in lower case (`-bin` names carry base64).
public typealias CallMetadata = [(name: String, value: String)]

public enum GRPCFraming {
    /// A message as gRPC frames it: a compressed flag (0), a 4-byte big-endian length, the bytes.
    public static func lengthPrefixed(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// The one message of a unary response; `nil` when the body holds none (the status then says why).
    public static func singleMessage(in body: ByteBuffer) throws(RPCError) -> ByteBuffer? {
        var body = body
        guard body.readableBytes > 0 else { return nil }
        guard let compressed = body.readInteger(as: UInt8.self), let length = body.readInteger(as: UInt32.self) else {
            throw RPCError(code: .internalError, message: "response body of \(body.readableBytes) bytes is too short for a gRPC message prefix")
        }
        guard compressed == 0 else {
            throw RPCError(code: .internalError, message: "response message is compressed, but this client asked for no compression")
        }
        guard let message = body.readSlice(length: Int(length)) else {
            throw RPCError(code: .internalError, message: "response message announces \(length) bytes, \(body.readableBytes) arrived")
        }
        guard body.readableBytes == 0 else {
            throw RPCError(code: .internalError, message: "unary response carries more than one message")
        }
        return message
    }

    /// Request headers, pseudo-headers first.
    /// Request headers of a call; `metadata` (lower-case ASCII names, as gRPC requires) goes after gRPC's own.
    public static func requestHeaders(path: String, authority: String, timeout: Duration?, metadata: CallMetadata = []) -> HPACKHeaders {
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, ":authority": authority,
            "content-type": "application/grpc", "te": "trailers",
        ]
        if let timeout { headers.add(name: "grpc-timeout", value: grpcTimeout(timeout)) }
        for (name, value) in metadata { headers.add(name: name, value: value) }
        return headers
    }

    /// `grpc-timeout`: at most 8 digits and a unit; the finest unit that fits.
    public static func grpcTimeout(_ duration: Duration) -> String {
        let nanoseconds = max(0, duration.components.seconds) * 1_000_000_000 + max(0, duration.components.attoseconds / 1_000_000_000)
        for (unit, size) in [("n", Int64(1)), ("u", 1_000), ("m", 1_000_000), ("S", 1_000_000_000), ("M", 60_000_000_000)] {
            let value = (nanoseconds + size - 1) / size
            if value <= 99_999_999 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }

    /// The call's outcome from the trailers (or the headers of a trailers-only response):
    /// `nil` for OK, else the error. Without `grpc-status`, the HTTP status decides (as the spec maps it).
    public static func status(trailers: HPACKHeaders, httpStatus: String?) -> RPCError? {
        if let raw = trailers.first(name: "grpc-status") {
            guard let value = Int(raw), let statusCode = Status.Code(rawValue: value) else {
                return RPCError(code: .unknown, message: "invalid grpc-status \"\(raw)\"")
            }
            guard let code = RPCError.Code(statusCode) else { return nil }  // OK
            return RPCError(code: code, message: trailers.first(name: "grpc-message").map(percentDecoded) ?? "")
        }
        let status = httpStatus ?? "(none)"
        let code: RPCError.Code = switch status {
        case "400": .internalError
        case "401": .unauthenticated
        case "403": .permissionDenied
        case "404": .unimplemented
        case "429", "502", "503", "504": .unavailable
        default: .unknown
        }
        return RPCError(code: code, message: "response without grpc-status (HTTP status \(status))")
    }

    /// The longest status message sent, in UTF-8 bytes. Messages may echo what a caller sent (a
    /// URL, a name): uncapped, a 1 MB field became a ~2 MB trailer no client with default limits
    /// reads (gRPC's default for received metadata is 8 KiB).
    public static let maximumStatusMessageBytes = 1024

    /// `message` cut to ``maximumStatusMessageBytes`` (at a character boundary), saying how much went.
    public static func capped(_ message: String) -> String {
        let utf8 = message.utf8
        guard utf8.count > maximumStatusMessageBytes else { return message }
        let bytes = Array(utf8.prefix(maximumStatusMessageBytes - 39))
        // Cut before the character that starts at or before the last byte (not inside one).
        var cut = bytes.count - 1
        while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return String(decoding: bytes[..<cut], as: UTF8.self) + "… (\(utf8.count - cut) more bytes cut)"
    }

    /// `grpc-message` as sent: bytes outside printable ASCII, and `%`, percent-encoded.
    public static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `grpc-message` is percent-encoded (UTF-8).
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2, let high = hexValue(input[input.startIndex]), let low = hexValue(input[input.startIndex + 1]) {
                bytes.append(high << 4 | low)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
