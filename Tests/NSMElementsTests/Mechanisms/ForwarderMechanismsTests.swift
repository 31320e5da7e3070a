import GRPCCore
import IPAddressing
import NSMAPI
import NSMCore
@testable import NSMElements
import Synchronization
import Testing

@Suite("Forwarder mechanisms: incoming, outgoing, data plane, translation")
struct ForwarderMechanismsTests {
    /// Records what the data plane is told to expect of the endpoint and what it discards.
    final class ExpectingPlane: ForwarderDataPlane, PreparedPlumbing {
        let expectations = Mutex<[Connection_Mechanism?]>([])
        let discarded = Mutex(0)
        func connect(_ plumbing: Plumbing) async throws {}
        func disconnect(_ plumbing: Plumbing) async throws {}
        func prepare(_ incoming: Connection_Mechanism, expecting expected: Connection_Mechanism?) async throws -> (any PreparedPlumbing)? {
            expectations.withLock { $0.append(expected) }
            return self
        }
        func discard(_ prepared: any PreparedPlumbing) async { discarded.withLock { $0 += 1 } }
    }

    @Test("the endpoint's interface is named by the forwarder; once the endpoint's namespace is known the data plane is told what to expect; a refusal discards")
    func expectations() async throws {
        let plane = ExpectingPlane()
        let forwarder = try ForwarderMechanisms(plane: plane)
        let first = try await forwarder.chain(then: AnsweringEndpoint()).request(request(id: "a"), context: ChainContext())
        #expect(first.mechanism.kernelInterfaceName == "nsm-1")  // the client's side is answered back
        _ = try await forwarder.chain(then: AnsweringEndpoint()).request(request(id: "b"), context: ChainContext())
        let expected = plane.expectations.withLock { $0 }
        #expect(expected.count == 2 && expected[0] == nil)
        let second = try #require(expected[1])
        #expect(second.inodeURL == "inode://4/77")
        let name = OutgoingMechanismElement.endpointInterfaceName(for: "b")
        #expect(second.kernelInterfaceName == name && name.hasPrefix("nse-") && name.utf8.count <= 15)
        #expect(name != OutgoingMechanismElement.endpointInterfaceName(for: "c"))
        await #expect(throws: NSMError.self) {
            _ = try await forwarder.chain(then: AnsweringEndpoint(fail: true)).request(request(id: "c"), context: ChainContext())
        }
        #expect(plane.discarded.withLock { $0 } == 1)
    }

    @Test("the data plane gets both sides and the client gets its own side back; the next hop sees only its own mechanism")
    func translation() async throws {
        let plane = RecordingPlane()
        let forwarder = try ForwarderMechanisms(plane: plane)
        let seen = Mutex<Networkservice_NetworkServiceRequest?>(nil)
        let next = CheckRequestElement { request in seen.withLock { $0 = request } }
        let connection = try await forwarder.chain(then: NetworkServiceChain([next, AnsweringEndpoint()])).request(request(id: "t"), context: ChainContext())
        #expect(connection.mechanism.kernelInterfaceName == "nsm-1")
        let sent = try #require(seen.withLock { $0 })
        #expect(sent.connection.mechanism == Connection_Mechanism() && sent.mechanismPreferences.count == 1)
        #expect(sent.mechanismPreferences[0].kernelInterfaceName == OutgoingMechanismElement.endpointInterfaceName(for: "t"))
        let plumbing = try #require(plane.plumbed.withLock { $0.first })
        #expect(plumbing.incoming.kernelInterfaceName == "nsm-1" && plumbing.outgoing.inodeURL == "inode://4/77")
        try await forwarder.chain(then: AnsweringEndpoint()).close(connection, context: ChainContext())
        #expect(plane.unplumbed.withLock { $0 } == [plumbing])
    }

    @Test("a kernel interface name Linux would refuse, or an unsupported mechanism, is refused before anything is asked",
          arguments: ["nsm-interface-too-long", "a/b", "a:b", "..", "a b"])
    func badInterfaceName(name: String) async throws {
        let forwarder = try ForwarderMechanisms()
        let counting = CountingElement()
        var bad = request(id: "bad")
        bad.mechanismPreferences = [.kernel(interfaceName: name)]
        let error = await #expect(throws: NSMError.self) { _ = try await forwarder.chain(then: counting).request(bad, context: ChainContext()) }
        #expect(error?.code == .invalidArgument && error?.message.contains(name) == true)
        var memif = request(id: "memif")
        memif.mechanismPreferences[0].type = "MEMIF"
        let unsupported = await #expect(throws: NSMError.self) { _ = try await forwarder.chain(then: counting).request(memif, context: ChainContext()) }
        #expect(unsupported?.message.contains("LOCAL/KERNEL and REMOTE/VXLAN") == true)
        #expect(counting.requests == 0)
    }

    @Test("a tunnel's MTU is the underlay's less the VXLAN overhead of the underlay's family (54 over IPv4, 74 over IPv6)",
          arguments: [("192.168.240.2", UInt32(1446)), ("fd00::2", UInt32(1426))])
    func tunnelMTU(tunnelIP: String, expected: UInt32) async throws {
        let plane = RecordingPlane()
        let forwarder = try ForwarderMechanisms(tunnelIP: tunnelIP, nextHop: "tcp://192.168.240.9:5001", plane: plane)
        let connection = try await forwarder.chain(then: AnsweringNode()).request(request(id: "mtu-1"), context: ChainContext())
        #expect(connection.context.mtu == expected)
        #expect(plane.plumbed.withLock { $0.first?.context.mtu } == expected)
        // This node's end of an incoming tunnel says the same MTU.
        let ending = try ForwarderMechanisms(tunnelIP: tunnelIP)
        let incoming = try await ending.chain(then: AnsweringEndpoint()).request(
            tunnelRequest(id: "mtu-2", from: tunnelIP.contains(":") ? "fd00::1" : "192.168.240.1"), context: ChainContext())
        #expect(incoming.mechanism.tunnelMTU == expected && incoming.context.mtu == expected)
    }
}
