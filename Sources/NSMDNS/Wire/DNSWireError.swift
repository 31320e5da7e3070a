/// Why a DNS message could not be read or written. Every case names the offset or the field,
/// so a malformed packet can be explained in a log line.
public enum DNSWireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The message ended inside a field.
    case truncated(field: String, offset: Int)
    /// A compression pointer that does not point strictly backwards (loops are refused).
    case badPointer(offset: Int, target: Int)
    /// A label type other than a normal label or a pointer (0x40 and 0x80 prefixes).
    case badLabelType(offset: Int, byte: UInt8)
    /// A name longer than 255 bytes on the wire.
    case nameTooLong(offset: Int)
    /// A record whose data length does not match what its type needs.
    case badRecordData(type: UInt16, offset: Int, problem: String)
    /// Text that is not a valid domain name.
    case badName(text: String, problem: String)
    /// A message larger than 65535 bytes.
    case messageTooLarge(size: Int)

    public var description: String {
        switch self {
        case .truncated(let field, let offset): "message ends inside \(field) at byte \(offset)"
        case .badPointer(let offset, let target): "compression pointer at byte \(offset) to \(target) does not point backwards"
        case .badLabelType(let offset, let byte): "unknown label type 0x\(String(byte, radix: 16)) at byte \(offset) (accepted: labels 0x00-0x3f, pointers 0xc0)"
        case .nameTooLong(let offset): "name at byte \(offset) is longer than 255 bytes"
        case .badRecordData(let type, let offset, let problem): "record of type \(type) at byte \(offset): \(problem)"
        case .badName(let text, let problem): "\"\(text)\" is not a domain name: \(problem)"
        case .messageTooLarge(let size): "message of \(size) bytes is larger than 65535"
        }
    }
}
