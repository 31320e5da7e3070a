import IPAddressing
import NetlinkWire

extension NetlinkRequest {
    /// `ip neigh replace IP lladdr MAC dev INDEX nud permanent`.
    public static func addNeighbor(_ address: IPAddress, hardwareAddress: [UInt8], index: Int32, state: NeighborState = .permanent) -> NetlinkRequest {
        let header = NeighborHeader(family: address.family.addressFamily, index: index, state: state)
        let message = NetlinkMessage(
            type: .newNeighbor, flags: [.create, .replace], header: header,
            attributes: [.bytes(NeighborAttribute.destination, address.bytes), .bytes(NeighborAttribute.linkLayerAddress, hardwareAddress)])
        let mac = hardwareAddress.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
        return NetlinkRequest(message, operation: "ip neigh replace \(address) lladdr \(mac) dev \(index)")
    }
}

extension NetlinkHandle {
    /// Adds (or replaces) a neighbour entry.
    public func addNeighbor(_ address: IPAddress, hardwareAddress: [UInt8], index: Int32, state: NeighborState = .permanent) throws(NetlinkError) {
        try execute(.addNeighbor(address, hardwareAddress: hardwareAddress, index: index, state: state))
    }

    /// Neighbour entries as (address, hardware address, index, state).
    public func neighbors(family: IPFamily) throws(NetlinkError) -> [(address: IPAddress, hardwareAddress: [UInt8], index: Int32, state: NeighborState)] {
        let request = NetlinkMessage(type: .getNeighbor, flags: [], header: NeighborHeader(family: family.addressFamily, index: 0, state: []))
        var result: [(IPAddress, [UInt8], Int32, NeighborState)] = []
        for message in try dump(request, operation: "ip neigh show") where message.type == .newNeighbor {
            guard let decoded = try? message.decode(NeighborHeader.self),
                  let address = decoded.attributes.first(NeighborAttribute.destination).flatMap({ IPAddress(bytes: $0.value) })
            else { continue }
            result.append((address, decoded.attributes.first(NeighborAttribute.linkLayerAddress)?.value ?? [], decoded.header.index, decoded.header.state))
        }
        return result
    }
}
