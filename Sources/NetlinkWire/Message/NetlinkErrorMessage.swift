/// The payload of an `NLMSG_ERROR` message (`struct nlmsgerr` plus extended-ack attributes).
///
/// An error of 0 is an acknowledgement. Otherwise `error` is a negative errno, and with
/// `NETLINK_EXT_ACK` enabled the kernel adds its own explanation in ``message``
/// (`NLMSGERR_ATTR_MSG`), the text `ip` prints after "Error:".
public struct NetlinkErrorMessage: Sendable, Hashable {
    /// 0 for an acknowledgement, `-errno` for a failure.
    public var error: Int32
    /// The header of the request this answers.
    public var originalType: NetlinkMessageType
    public var originalSequence: UInt32
    /// The kernel's extended-ack text, if any.
    public var message: String?
    /// Offset of the offending attribute in the request, if the kernel said.
    public var attributeOffset: UInt32?

    public var isAcknowledgement: Bool { error == 0 }

    public init(error: Int32, originalType: NetlinkMessageType, originalSequence: UInt32, message: String? = nil, attributeOffset: UInt32? = nil) {
        self.error = error
        self.originalType = originalType
        self.originalSequence = originalSequence
        self.message = message
        self.attributeOffset = attributeOffset
    }

    /// Decodes the payload of `message`, which must be `NLMSG_ERROR`.
    public init(decoding message: NetlinkMessage) throws(NetlinkWireError) {
        var reader = ByteReader(message.payload[...], context: "nlmsgerr")
        error = try reader.read()
        let originalLength = Int(try reader.read(UInt32.self))
        originalType = NetlinkMessageType(rawValue: try reader.read())
        _ = try reader.read(UInt16.self)  // original flags
        originalSequence = try reader.read()
        _ = try reader.read(UInt32.self)  // original port id
        // Without NLM_F_CAPPED the whole original request is echoed after the header.
        if !message.flags.contains(.capped), error != 0 {
            try reader.skip(min(max(originalLength - NetlinkMessage.headerSize, 0), reader.remaining))
        }
        self.message = nil
        self.attributeOffset = nil
        if message.flags.contains(.ackTLVs), reader.remaining > 0 {
            let attributes = try NetlinkAttribute.decodeList(reader.bytes[reader.offset...], context: "extended ack")
            self.message = attributes.first(ErrorAttribute.message).map(\.stringValue)
            self.attributeOffset = attributes.first(ErrorAttribute.offset)?.uint32Value
        }
    }

    /// Encodes as an `NLMSG_ERROR` message (capped, with TLVs when there is a message).
    public func encoded(sequence: UInt32, portID: UInt32 = 0) -> NetlinkMessage {
        var writer = ByteWriter()
        writer.write(error)
        writer.write(UInt32(NetlinkMessage.headerSize))
        writer.write(originalType.rawValue)
        writer.write(UInt16(0))
        writer.write(originalSequence)
        writer.write(portID)
        var flags: NetlinkMessageFlags = [.capped]
        if let message {
            flags.insert(.ackTLVs)
            NetlinkAttribute.string(ErrorAttribute.message, message).encode(into: &writer)
        }
        return NetlinkMessage(type: .error, flags: flags, sequence: sequence, portID: portID, payload: writer.bytes)
    }
}
