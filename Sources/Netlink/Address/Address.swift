import IPAddressing
import NetlinkWire

/// An address on an interface (`ip addr show`).
public struct Address: Sendable, Hashable {
    /// The address with its prefix length (`10.0.0.1/24`).
    public var prefix: IPPrefix
    public var index: Int32
    public var flags: AddressFlags
    public var scope: RouteScope
    public var label: String?

    public init(prefix: IPPrefix, index: Int32, flags: AddressFlags = [], scope: RouteScope = .universe, label: String? = nil) {
        self.prefix = prefix
        self.index = index
        self.flags = flags
        self.scope = scope
        self.label = label
    }

    /// Decodes an `RTM_NEWADDR` message.
    public init(decoding message: NetlinkMessage) throws(NetlinkError) {
        let decoded: (header: AddressHeader, attributes: [NetlinkAttribute])
        do throws(NetlinkWireError) { decoded = try message.decode(AddressHeader.self) } catch {
            throw NetlinkError(code: .malformedReply, errno: 0, operation: "decode RTM_NEWADDR", message: error.description)
        }
        let attributes = decoded.attributes
        let raw = (attributes.first(AddressAttribute.local) ?? attributes.first(AddressAttribute.address))?.value ?? []
        guard let address = IPAddress(bytes: raw), let prefix = IPPrefix(address: address, length: Int(decoded.header.prefixLength)) else {
            throw NetlinkError(code: .malformedReply, errno: 0, operation: "decode RTM_NEWADDR", message: "no usable IFA_LOCAL/IFA_ADDRESS")
        }
        self.prefix = prefix
        index = Int32(bitPattern: decoded.header.index)
        flags = AddressFlags(rawValue: attributes.first(AddressAttribute.flags)?.uint32Value ?? UInt32(decoded.header.flags))
        scope = decoded.header.scope
        label = attributes.first(AddressAttribute.label)?.stringValue
    }
}

extension IPFamily {
    /// The `AF_*` number for this family.
    public var addressFamily: UInt8 { self == .v4 ? AddressFamily.inet : AddressFamily.inet6 }
}

extension NetlinkRequest {
    /// `ip addr add PREFIX dev INDEX` with the given flags (`IFA_F_PERMANENT` always;
    /// add `.noDAD` for IPv6 addresses that must be usable at once).
    public static func addAddress(_ prefix: IPPrefix, index: Int32, flags: AddressFlags = [], replace: Bool = false) -> NetlinkRequest {
        let flags = flags.union(.permanent)
        let header = AddressHeader(
            family: prefix.family.addressFamily, prefixLength: UInt8(prefix.length),
            flags: UInt8(truncatingIfNeeded: flags.rawValue), scope: .universe, index: UInt32(bitPattern: index))
        let bytes = prefix.address.bytes
        let message = NetlinkMessage(
            type: .newAddress, flags: replace ? [.create, .replace] : [.create, .exclusive], header: header,
            attributes: [.bytes(AddressAttribute.local, bytes), .bytes(AddressAttribute.address, bytes), .uint32(AddressAttribute.flags, flags.rawValue)])
        return NetlinkRequest(message, operation: "ip addr \(replace ? "replace" : "add") \(prefix) dev \(index)")
    }

    /// `ip addr del PREFIX dev INDEX`.
    public static func deleteAddress(_ prefix: IPPrefix, index: Int32) -> NetlinkRequest {
        let header = AddressHeader(family: prefix.family.addressFamily, prefixLength: UInt8(prefix.length), index: UInt32(bitPattern: index))
        let bytes = prefix.address.bytes
        let message = NetlinkMessage(
            type: .deleteAddress, flags: [], header: header,
            attributes: [.bytes(AddressAttribute.local, bytes), .bytes(AddressAttribute.address, bytes)])
        return NetlinkRequest(message, operation: "ip addr del \(prefix) dev \(index)")
    }
}

extension NetlinkHandle {
    /// Adds an address (`ip addr add`); `replace` makes it idempotent (`ip addr replace`).
    public func addAddress(_ prefix: IPPrefix, index: Int32, flags: AddressFlags = [], replace: Bool = false) throws(NetlinkError) {
        try execute(.addAddress(prefix, index: index, flags: flags, replace: replace))
    }

    /// Removes an address (`ip addr del`).
    public func deleteAddress(_ prefix: IPPrefix, index: Int32) throws(NetlinkError) {
        try execute(.deleteAddress(prefix, index: index))
    }

    /// Addresses in the namespace, optionally of one family and/or one interface (`ip addr show`).
    public func addresses(family: IPFamily? = nil, index: Int32? = nil) throws(NetlinkError) -> [Address] {
        let request = NetlinkMessage(type: .getAddress, flags: [], header: AddressHeader(family: family?.addressFamily ?? AddressFamily.unspecified))
        var result: [Address] = []
        for message in try dump(request, operation: "ip addr show") where message.type == .newAddress {
            let address = try Address(decoding: message)
            if let family, address.prefix.family != family { continue }
            if let index, address.index != index { continue }
            result.append(address)
        }
        return result
    }
}
