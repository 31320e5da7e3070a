import IPAddressing
import NetlinkWire

/// A route (`ip route`).
public struct Route: Sendable, Hashable {
    /// Destination prefix; stored masked (`10.0.0.0/24`, not `10.0.0.7/24`).
    public var destination: IPPrefix
    public var gateway: IPAddress?
    public var outputIndex: Int32?
    public var scope: RouteScope
    public var table: UInt32
    /// `onlink`: use the gateway even if no prefix on the device covers it.
    public var onlink: Bool
    public var routeProtocol: RouteProtocol
    public var type: RouteType
    public var preferredSource: IPAddress?
    public var priority: UInt32?

    public init(destination: IPPrefix, gateway: IPAddress? = nil, outputIndex: Int32? = nil, scope: RouteScope? = nil,
                table: UInt32 = RouteTable.main, onlink: Bool = false, routeProtocol: RouteProtocol = .boot,
                type: RouteType = .unicast, preferredSource: IPAddress? = nil, priority: UInt32? = nil) {
        self.destination = destination.network
        self.gateway = gateway
        self.outputIndex = outputIndex
        // As `ip route`: link scope for device routes without a gateway, universe otherwise.
        self.scope = scope ?? (gateway == nil && outputIndex != nil ? .link : .universe)
        self.table = table
        self.onlink = onlink
        self.routeProtocol = routeProtocol
        self.type = type
        self.preferredSource = preferredSource
        self.priority = priority
    }

    /// Decodes an `RTM_NEWROUTE` message.
    public init(decoding message: NetlinkMessage) throws(NetlinkError) {
        let decoded: (header: RouteHeader, attributes: [NetlinkAttribute])
        do throws(NetlinkWireError) { decoded = try message.decode(RouteHeader.self) } catch {
            throw NetlinkError(code: .malformedReply, errno: 0, operation: "decode RTM_NEWROUTE", message: error.description)
        }
        let header = decoded.header, attributes = decoded.attributes
        let family: IPFamily = header.family == AddressFamily.inet6 ? .v6 : .v4
        let zero: IPAddress = family == .v4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0))
        let address = attributes.first(RouteAttribute.destination).flatMap { IPAddress(bytes: $0.value) } ?? zero
        guard let destination = IPPrefix(address: address, length: Int(header.destinationLength)) else {
            throw NetlinkError(code: .malformedReply, errno: 0, operation: "decode RTM_NEWROUTE", message: "bad destination length")
        }
        self.destination = destination
        gateway = attributes.first(RouteAttribute.gateway).flatMap { IPAddress(bytes: $0.value) }
        outputIndex = attributes.first(RouteAttribute.outputInterface)?.int32Value
        scope = header.scope
        table = attributes.first(RouteAttribute.table)?.uint32Value ?? UInt32(header.table)
        onlink = header.flags & RouteFlags.onlink != 0
        routeProtocol = header.routeProtocol
        type = header.type
        preferredSource = attributes.first(RouteAttribute.preferredSource).flatMap { IPAddress(bytes: $0.value) }
        priority = attributes.first(RouteAttribute.priority)?.uint32Value
    }

    var ipCommand: String {
        var text = "\(destination)"
        if let gateway { text += " via \(gateway)" }
        if let outputIndex { text += " dev \(outputIndex)" }
        if scope != .universe { text += " scope \(scope)" }
        if onlink { text += " onlink" }
        if table != RouteTable.main { text += " table \(table)" }
        return text
    }
}

extension NetlinkRequest {
    static func route(_ route: Route, type messageType: NetlinkMessageType, flags: NetlinkMessageFlags, verb: String) -> NetlinkRequest {
        let header = RouteHeader(
            family: route.destination.family.addressFamily, destinationLength: UInt8(route.destination.length),
            table: route.table < 256 ? UInt8(route.table) : 0, routeProtocol: route.routeProtocol,
            scope: route.scope, type: route.type, flags: route.onlink ? RouteFlags.onlink : 0)
        var attributes: [NetlinkAttribute] = []
        if route.destination.length > 0 { attributes.append(.bytes(RouteAttribute.destination, route.destination.address.bytes)) }
        if let gateway = route.gateway { attributes.append(.bytes(RouteAttribute.gateway, gateway.bytes)) }
        if let index = route.outputIndex { attributes.append(.uint32(RouteAttribute.outputInterface, UInt32(bitPattern: index))) }
        if let source = route.preferredSource { attributes.append(.bytes(RouteAttribute.preferredSource, source.bytes)) }
        if let priority = route.priority { attributes.append(.uint32(RouteAttribute.priority, priority)) }
        attributes.append(.uint32(RouteAttribute.table, route.table))
        return NetlinkRequest(
            NetlinkMessage(type: messageType, flags: flags, header: header, attributes: attributes),
            operation: "ip route \(verb) \(route.ipCommand)")
    }

    /// `ip route add …`.
    public static func addRoute(_ route: Route) -> NetlinkRequest {
        self.route(route, type: .newRoute, flags: [.create, .exclusive], verb: "add")
    }

    /// `ip route replace …` (idempotent).
    public static func replaceRoute(_ route: Route) -> NetlinkRequest {
        self.route(route, type: .newRoute, flags: [.create, .replace], verb: "replace")
    }

    /// `ip route del …`.
    public static func deleteRoute(_ route: Route) -> NetlinkRequest {
        self.route(route, type: .deleteRoute, flags: [], verb: "del")
    }
}

extension NetlinkHandle {
    public func addRoute(_ route: Route) throws(NetlinkError) { try execute(.addRoute(route)) }
    public func replaceRoute(_ route: Route) throws(NetlinkError) { try execute(.replaceRoute(route)) }
    public func deleteRoute(_ route: Route) throws(NetlinkError) { try execute(.deleteRoute(route)) }

    /// Routes of one family in one table (default main) (`ip route show table T`).
    public func routes(family: IPFamily, table: UInt32 = RouteTable.main) throws(NetlinkError) -> [Route] {
        let request = NetlinkMessage(type: .getRoute, flags: [], header: RouteHeader(family: family.addressFamily, table: 0))
        var result: [Route] = []
        for message in try dump(request, operation: "ip route show") where message.type == .newRoute {
            let route = try Route(decoding: message)
            if route.table == table { result.append(route) }
        }
        return result
    }
}
