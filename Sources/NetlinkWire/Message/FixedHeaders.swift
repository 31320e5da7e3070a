/// `struct ifinfomsg`: the header of link messages.
public struct InterfaceInfoHeader: NetlinkFixedHeader, Hashable {
    public static let name = "ifinfomsg"
    public static let size = 16

    public var family: UInt8
    public var deviceType: UInt16
    public var index: Int32
    public var flags: InterfaceFlags
    public var change: InterfaceFlags

    public init(family: UInt8 = AddressFamily.unspecified, deviceType: UInt16 = 0, index: Int32 = 0,
                flags: InterfaceFlags = [], change: InterfaceFlags = []) {
        self.family = family
        self.deviceType = deviceType
        self.index = index
        self.flags = flags
        self.change = change
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(family)
        writer.write(UInt8(0))
        writer.write(deviceType)
        writer.write(index)
        writer.write(flags.rawValue)
        writer.write(change.rawValue)
    }

    public init(from reader: inout ByteReader) throws(NetlinkWireError) {
        family = try reader.read()
        _ = try reader.read(UInt8.self)
        deviceType = try reader.read()
        index = try reader.read()
        flags = InterfaceFlags(rawValue: try reader.read())
        change = InterfaceFlags(rawValue: try reader.read())
    }
}

/// `struct ifaddrmsg`: the header of address messages.
public struct AddressHeader: NetlinkFixedHeader, Hashable {
    public static let name = "ifaddrmsg"
    public static let size = 8

    public var family: UInt8
    public var prefixLength: UInt8
    /// The low 8 flag bits; the full set travels in `IFA_FLAGS`.
    public var flags: UInt8
    public var scope: RouteScope
    public var index: UInt32

    public init(family: UInt8, prefixLength: UInt8 = 0, flags: UInt8 = 0, scope: RouteScope = .universe, index: UInt32 = 0) {
        self.family = family
        self.prefixLength = prefixLength
        self.flags = flags
        self.scope = scope
        self.index = index
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(family)
        writer.write(prefixLength)
        writer.write(flags)
        writer.write(scope.rawValue)
        writer.write(index)
    }

    public init(from reader: inout ByteReader) throws(NetlinkWireError) {
        family = try reader.read()
        prefixLength = try reader.read()
        flags = try reader.read()
        scope = RouteScope(rawValue: try reader.read())
        index = try reader.read()
    }
}

/// `struct rtmsg`: the header of route messages.
public struct RouteHeader: NetlinkFixedHeader, Hashable {
    public static let name = "rtmsg"
    public static let size = 12

    public var family: UInt8
    public var destinationLength: UInt8
    public var sourceLength: UInt8
    public var tos: UInt8
    /// The table for ids < 256; larger tables travel in `RTA_TABLE`.
    public var table: UInt8
    public var routeProtocol: RouteProtocol
    public var scope: RouteScope
    public var type: RouteType
    public var flags: UInt32

    public init(family: UInt8, destinationLength: UInt8 = 0, sourceLength: UInt8 = 0, tos: UInt8 = 0,
                table: UInt8 = UInt8(RouteTable.main), routeProtocol: RouteProtocol = .boot,
                scope: RouteScope = .universe, type: RouteType = .unicast, flags: UInt32 = 0) {
        self.family = family
        self.destinationLength = destinationLength
        self.sourceLength = sourceLength
        self.tos = tos
        self.table = table
        self.routeProtocol = routeProtocol
        self.scope = scope
        self.type = type
        self.flags = flags
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(family)
        writer.write(destinationLength)
        writer.write(sourceLength)
        writer.write(tos)
        writer.write(table)
        writer.write(routeProtocol.rawValue)
        writer.write(scope.rawValue)
        writer.write(type.rawValue)
        writer.write(flags)
    }

    public init(from reader: inout ByteReader) throws(NetlinkWireError) {
        family = try reader.read()
        destinationLength = try reader.read()
        sourceLength = try reader.read()
        tos = try reader.read()
        table = try reader.read()
        routeProtocol = RouteProtocol(rawValue: try reader.read())
        scope = RouteScope(rawValue: try reader.read())
        type = RouteType(rawValue: try reader.read())
        flags = try reader.read()
    }
}

/// `struct ndmsg`: the header of neighbour messages.
public struct NeighborHeader: NetlinkFixedHeader, Hashable {
    public static let name = "ndmsg"
    public static let size = 12

    public var family: UInt8
    public var index: Int32
    public var state: NeighborState
    public var flags: UInt8
    public var type: UInt8

    public init(family: UInt8, index: Int32, state: NeighborState, flags: UInt8 = 0, type: UInt8 = 0) {
        self.family = family
        self.index = index
        self.state = state
        self.flags = flags
        self.type = type
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(family)
        writer.write(UInt8(0))
        writer.write(UInt16(0))
        writer.write(index)
        writer.write(state.rawValue)
        writer.write(flags)
        writer.write(type)
    }

    public init(from reader: inout ByteReader) throws(NetlinkWireError) {
        family = try reader.read()
        try reader.skip(3)
        index = try reader.read()
        state = NeighborState(rawValue: try reader.read())
        flags = try reader.read()
        type = try reader.read()
    }
}
