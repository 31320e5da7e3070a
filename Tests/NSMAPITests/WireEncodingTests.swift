import GRPCCore
import NSMAPI
import SwiftProtobuf
import Testing

/// Checks the bytes our generated types put on the wire against hand-assembled protobuf
/// encodings built from the field numbers in upstream's API, and the gRPC method paths.
@Suite("Wire encoding")
struct WireEncodingTests {
    /// Protobuf key byte for (field number, wire type).
    static func key(_ field: UInt8, _ wireType: UInt8) -> UInt8 { field << 3 | wireType }

    static func lengthDelimited(_ field: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [key(field, 2), UInt8(payload.count)] + payload
    }

    static func string(_ field: UInt8, _ text: String) -> [UInt8] { lengthDelimited(field, Array(text.utf8)) }

    @Test("Connection fields carry upstream's numbers")
    func connection() throws {
        var connection = Connection_Connection()
        connection.id = "a"
        connection.networkService = "s"
        connection.networkServiceEndpointName = "e"
        connection.payload = "IP"
        connection.state = .reselectRequested
        connection.context.mtu = 1446
        let bytes = try connection.serializedBytes() as [UInt8]
        let expected: [UInt8] =
            Self.string(1, "a") + Self.string(2, "s")
            + Self.lengthDelimited(4, [Self.key(5, 0), 0xA6, 0x0B])  // ConnectionContext.MTU = 5, varint 1446
            + Self.string(7, "e") + Self.string(8, "IP") + [Self.key(9, 0), 3]
        #expect(bytes == expected)
        #expect(try Connection_Connection(serializedBytes: expected) == connection)
    }

    @Test("Route keeps the nextHop field at number 2, IPContext.policies at 11")
    func ipContext() throws {
        var context = Connectioncontext_IPContext()
        var route = Connectioncontext_Route()
        route.prefix = "p"
        route.nextHop = "n"
        var policy = Connectioncontext_PolicyRoute()
        policy.from = "f"
        context.srcRoutes = [route]
        context.policies = [policy]
        let bytes = try context.serializedBytes() as [UInt8]
        let expected = Self.lengthDelimited(5, Self.string(1, "p") + Self.string(2, "n")) + Self.lengthDelimited(11, Self.string(1, "f"))
        #expect(bytes == expected)
    }

    @Test("NSE registration fields, including path_ids at 7")
    func endpoint() throws {
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = "n"
        endpoint.networkServiceNames = ["s"]
        endpoint.url = "u"
        endpoint.pathIds = ["p"]
        let bytes = try endpoint.serializedBytes() as [UInt8]
        #expect(bytes == Self.string(1, "n") + Self.string(2, "s") + Self.string(4, "u") + Self.string(7, "p"))
        var service = Registry_NetworkService()
        service.pathIds = ["q"]
        #expect(try service.serializedBytes() as [UInt8] == Self.string(4, "q"))
    }

    @Test("PrefixResponse has no field 1")
    func ipam() throws {
        var response = Ipam_PrefixResponse()
        response.prefix = "x"
        #expect(try response.serializedBytes() as [UInt8] == Self.string(2, "x"))
    }

    @Test("gRPC method paths are upstream's")
    func methodPaths() {
        let paths = [
            Networkservice_NetworkService.Method.Request.descriptor,
            Networkservice_NetworkService.Method.Close.descriptor,
            Connection_MonitorConnection.Method.MonitorConnections.descriptor,
            Registry_NetworkServiceRegistry.Method.Register.descriptor,
            Registry_NetworkServiceRegistry.Method.Find.descriptor,
            Registry_NetworkServiceRegistry.Method.Unregister.descriptor,
            Registry_NetworkServiceEndpointRegistry.Method.Register.descriptor,
            Registry_NetworkServiceEndpointRegistry.Method.Find.descriptor,
            Registry_NetworkServiceEndpointRegistry.Method.Unregister.descriptor,
            Ipam_IPAM.Method.ManagePrefixes.descriptor,
            Grpc_Health_V1_Health.Method.Check.descriptor,
        ].map { "/\($0.service.fullyQualifiedService)/\($0.method)" }
        #expect(paths == [
            "/networkservice.NetworkService/Request",
            "/networkservice.NetworkService/Close",
            "/connection.MonitorConnection/MonitorConnections",
            "/registry.NetworkServiceRegistry/Register",
            "/registry.NetworkServiceRegistry/Find",
            "/registry.NetworkServiceRegistry/Unregister",
            "/registry.NetworkServiceEndpointRegistry/Register",
            "/registry.NetworkServiceEndpointRegistry/Find",
            "/registry.NetworkServiceEndpointRegistry/Unregister",
            "/ipam.IPAM/ManagePrefixes",
            "/grpc.health.v1.Health/Check",
        ])
    }

    @Test("protobuf full names are upstream's")
    func fullNames() {
        #expect(Connection_Connection.protoMessageName == "connection.Connection")
        #expect(Connectioncontext_ConnectionContext.protoMessageName == "connectioncontext.ConnectionContext")
        #expect(Networkservice_NetworkServiceRequest.protoMessageName == "networkservice.NetworkServiceRequest")
        #expect(Registry_NetworkServiceEndpoint.protoMessageName == "registry.NetworkServiceEndpoint")
        #expect(Connectioncontext_IpFamily.Family.ipv6.rawValue == 1)
        #expect(Connection_State.up.rawValue == 0)
        #expect(Connection_ConnectionEventType.delete.rawValue == 2)
    }
}
