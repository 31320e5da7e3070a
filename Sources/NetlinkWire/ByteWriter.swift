/// Appends fixed-width integers in host byte order (netlink's order) to a byte array.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }
    public mutating func write(_ value: UInt16) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ value: UInt32) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ value: Int32) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ value: UInt64) { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
    public mutating func write(contentsOf data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }

    /// Pads with zeros to the next multiple of 4 (`NLMSG_ALIGN` / `NLA_ALIGN`).
    public mutating func align() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// Overwrites a `UInt32` at `offset` (used to patch lengths after the fact).
    public mutating func patch(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }

    /// Overwrites a `UInt16` at `offset`.
    public mutating func patch(_ value: UInt16, at offset: Int) {
        withUnsafeBytes(of: value) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }
}

/// Reads fixed-width host-order integers from bytes, never past the end.
public struct ByteReader: Sendable {
    public let bytes: ArraySlice<UInt8>
    public private(set) var offset: Int
    let context: String

    public init(_ bytes: ArraySlice<UInt8>, context: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.context = context
    }

    public var remaining: Int { bytes.endIndex - offset }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(NetlinkWireError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw NetlinkWireError(context, "needs \(size) more bytes at offset \(offset - bytes.startIndex), has \(remaining)")
        }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<size { raw[index] = bytes[offset + index] }
        }
        offset += size
        return value
    }

    public mutating func readBytes(_ count: Int) throws(NetlinkWireError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else {
            throw NetlinkWireError(context, "needs \(count) bytes at offset \(offset - bytes.startIndex), has \(remaining)")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    public mutating func skip(_ count: Int) throws(NetlinkWireError) { _ = try readBytes(count) }
}

extension Int {
    /// Rounds up to a multiple of 4.
    @inlinable public var netlinkAligned: Int { (self + 3) & ~3 }
}
