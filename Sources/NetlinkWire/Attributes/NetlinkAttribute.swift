/// One netlink attribute (`struct nlattr`): a type, a nested flag and a value.
///
/// Nested attributes keep their children encoded in ``value``; read them with ``children()``.
public struct NetlinkAttribute: Sendable, Hashable {
    /// The attribute type without the `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` bits.
    public var type: UInt16
    /// Whether the sender set `NLA_F_NESTED`.
    public var isNested: Bool
    /// The payload, unpadded.
    public var value: [UInt8]

    public init(type: UInt16, value: [UInt8], nested: Bool = false) {
        self.type = type
        self.value = value
        self.isNested = nested
    }

    // MARK: Constructors for common payloads

    /// A NUL-terminated string, as the kernel expects for names and kinds.
    public static func string(_ type: UInt16, _ text: String) -> Self {
        Self(type: type, value: Array(text.utf8) + [0])
    }

    public static func uint8(_ type: UInt16, _ value: UInt8) -> Self { Self(type: type, value: [value]) }

    public static func uint16(_ type: UInt16, _ value: UInt16) -> Self {
        Self(type: type, value: withUnsafeBytes(of: value) { Array($0) })
    }

    /// A 16-bit value in network byte order (e.g. `IFLA_VXLAN_PORT`).
    public static func uint16BigEndian(_ type: UInt16, _ value: UInt16) -> Self {
        Self(type: type, value: [UInt8(value >> 8), UInt8(value & 0xFF)])
    }

    public static func uint32(_ type: UInt16, _ value: UInt32) -> Self {
        Self(type: type, value: withUnsafeBytes(of: value) { Array($0) })
    }

    public static func int32(_ type: UInt16, _ value: Int32) -> Self {
        Self(type: type, value: withUnsafeBytes(of: value) { Array($0) })
    }

    public static func bytes(_ type: UInt16, _ value: [UInt8]) -> Self { Self(type: type, value: value) }

    /// A nested attribute holding `children`, with `NLA_F_NESTED` set.
    public static func nested(_ type: UInt16, _ children: [NetlinkAttribute]) -> Self {
        var writer = ByteWriter()
        for child in children { child.encode(into: &writer) }
        return Self(type: type, value: writer.bytes, nested: true)
    }

    // MARK: Readers

    /// The value as a string, up to the first NUL.
    public var stringValue: String {
        let end = value.firstIndex(of: 0) ?? value.endIndex
        return String(decoding: value[..<end], as: UTF8.self)
    }

    public var uint8Value: UInt8? { value.count >= 1 ? value[0] : nil }
    public var uint16Value: UInt16? { integer() }
    public var uint32Value: UInt32? { integer() }
    public var int32Value: Int32? { integer() }
    public var uint16BigEndianValue: UInt16? { value.count >= 2 ? UInt16(value[0]) << 8 | UInt16(value[1]) : nil }

    private func integer<T: FixedWidthInteger>() -> T? {
        guard value.count >= MemoryLayout<T>.size else { return nil }
        var reader = ByteReader(value[...], context: "attribute \(type)")
        return try? reader.read(T.self)
    }

    /// Decodes the value as a list of attributes.
    public func children() throws(NetlinkWireError) -> [NetlinkAttribute] {
        try NetlinkAttribute.decodeList(value[...], context: "nested attribute \(type)")
    }

    // MARK: Wire form

    /// Size on the wire including header, excluding trailing padding.
    public var encodedLength: Int { 4 + value.count }

    public func encode(into writer: inout ByteWriter) {
        writer.write(UInt16(encodedLength))
        writer.write(type | (isNested ? netlinkNestedFlag : 0))
        writer.write(contentsOf: value)
        writer.align()
    }

    /// Decodes consecutive attributes filling `bytes` (trailing padding allowed).
    public static func decodeList(_ bytes: ArraySlice<UInt8>, context: String) throws(NetlinkWireError) -> [NetlinkAttribute] {
        var result: [NetlinkAttribute] = []
        var reader = ByteReader(bytes, context: context)
        while reader.remaining >= 4 {
            let length = Int(try reader.read(UInt16.self))
            let rawType = try reader.read(UInt16.self)
            guard length >= 4 else {
                throw NetlinkWireError(context, "attribute length \(length) is shorter than its 4-byte header")
            }
            let value = try reader.readBytes(length - 4)
            let padding = min(length.netlinkAligned - length, reader.remaining)
            try reader.skip(padding)
            result.append(
                NetlinkAttribute(
                    type: rawType & ~(netlinkNestedFlag | netlinkNetworkByteOrderFlag), value: Array(value),
                    nested: rawType & netlinkNestedFlag != 0))
        }
        return result
    }
}

extension Array where Element == NetlinkAttribute {
    /// The first attribute of `type`.
    public func first(_ type: UInt16) -> NetlinkAttribute? { first { $0.type == type } }
}
