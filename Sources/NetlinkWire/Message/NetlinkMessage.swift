/// A netlink message: the 16-byte `nlmsghdr` fields and the payload that follows it.
public struct NetlinkMessage: Sendable, Hashable {
    public static let headerSize = 16

    public var type: NetlinkMessageType
    public var flags: NetlinkMessageFlags
    public var sequence: UInt32
    public var portID: UInt32
    /// Everything after the header, unpadded.
    public var payload: [UInt8]

    public init(type: NetlinkMessageType, flags: NetlinkMessageFlags, sequence: UInt32 = 0, portID: UInt32 = 0, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// A request: a fixed header (`ifinfomsg`, `rtmsg`, …) followed by attributes.
    public init(
        type: NetlinkMessageType, flags: NetlinkMessageFlags, sequence: UInt32 = 0,
        header: some NetlinkFixedHeader, attributes: [NetlinkAttribute] = []
    ) {
        var writer = ByteWriter(capacity: 128)
        header.encode(into: &writer)
        writer.align()
        for attribute in attributes { attribute.encode(into: &writer) }
        self.init(type: type, flags: flags, sequence: sequence, payload: writer.bytes)
    }

    /// Appends this message, padded to 4 bytes, to `writer`.
    public func encode(into writer: inout ByteWriter) {
        writer.write(UInt32(Self.headerSize + payload.count))
        writer.write(type.rawValue)
        writer.write(flags.rawValue)
        writer.write(sequence)
        writer.write(portID)
        writer.write(contentsOf: payload)
        writer.align()
    }

    /// The message as bytes ready for `send`.
    public var encoded: [UInt8] {
        var writer = ByteWriter(capacity: Self.headerSize + payload.count + 3)
        encode(into: &writer)
        return writer.bytes
    }

    /// Splits a datagram into its messages.
    public static func decodeAll(_ bytes: ArraySlice<UInt8>) throws(NetlinkWireError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var reader = ByteReader(bytes, context: "message stream")
        while reader.remaining >= headerSize {
            let length = Int(try reader.read(UInt32.self))
            let type = try reader.read(UInt16.self)
            let flags = try reader.read(UInt16.self)
            let sequence = try reader.read(UInt32.self)
            let portID = try reader.read(UInt32.self)
            guard length >= headerSize else {
                throw NetlinkWireError("message header", "length \(length) is shorter than the 16-byte header")
            }
            let payload = try reader.readBytes(length - headerSize)
            try reader.skip(min(length.netlinkAligned - length, reader.remaining))
            messages.append(
                NetlinkMessage(
                    type: NetlinkMessageType(rawValue: type), flags: NetlinkMessageFlags(rawValue: flags),
                    sequence: sequence, portID: portID, payload: Array(payload)))
        }
        if reader.remaining != 0 {
            throw NetlinkWireError("message stream", "\(reader.remaining) trailing bytes do not form a header")
        }
        return messages
    }

    /// Decodes the payload as `Header` followed by attributes.
    public func decode<Header: NetlinkFixedHeader>(
        _: Header.Type
    ) throws(NetlinkWireError) -> (header: Header, attributes: [NetlinkAttribute]) {
        var reader = ByteReader(payload[...], context: "\(type) \(Header.name)")
        let header = try Header(from: &reader)
        let start = min(Header.size.netlinkAligned, payload.count)
        let attributes = try NetlinkAttribute.decodeList(payload[start...], context: "\(type) attributes")
        return (header, attributes)
    }
}

/// A fixed-size family header that follows `nlmsghdr` (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, `ndmsg`).
public protocol NetlinkFixedHeader: Sendable {
    /// The C struct's name, for error messages.
    static var name: String { get }
    /// Size in bytes of the C struct.
    static var size: Int { get }
    func encode(into writer: inout ByteWriter)
    init(from reader: inout ByteReader) throws(NetlinkWireError)
}
