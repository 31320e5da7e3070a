import GRPCCore
import IPAddressing
import NSMAPI
import NSMCore
@testable import NSMElements
import Synchronization
import Testing

@Suite("MechanismTranslationElement")
struct MechanismTranslationElementTests {
    /// Records what it is asked to plumb (a stand-in for the kernel data plane in this unit test).
    final class RecordingPlane: ForwarderDataPlane {
        let plumbed = Mutex<[Plumbing]>([])
        func connect(_ plumbing: Plumbing) async throws { plumbed.withLock { $0.append(plumbing) } }
        func disconnect(_ plumbing: Plumbing) async throws {}
    }

    func element() -> MechanismTranslationElement {
        MechanismTranslationElement(tunnelIP: IPAddress("192.168.240.2")!, dataPlane: RecordingPlane()) { _, _ in
            try NSMURL("unix:///run/nse.sock")
        }
    }

    func tunnelRequest(id: String) -> Networkservice_NetworkServiceRequest {
        var req = request(id: id)
        req.mechanismPreferences = [.vxlan(sourceIP: IPAddress("192.168.240.1")!)]
        return req
    }

    @Test("VNIs drawn for tunnels are distinct, keep the direction's parity, and come back on close or failure")
    func distinctVNIs() async throws {
        let translation = element()
        let store = MetadataStore()
        let chain = NetworkServiceChain([MetadataElement(store: store), translation, CountingElement()])
        var seen: Set<UInt32> = []
        var connections: [Connection_Connection] = []
        for index in 0..<300 {
            let connection = try await chain.request(tunnelRequest(id: "t\(index)"), context: ChainContext())
            let vni = try #require(connection.mechanism.vni)
            // The other end (192.168.240.1) sorts before us: even VNIs for this direction.
            #expect(vni % 2 == 0 && vni >= 2 && vni < 1 << 24)
            seen.insert(vni)
            connections.append(connection)
        }
        #expect(seen.count == 300 && translation.chosenVNIs.count == 300)
        for connection in connections.prefix(100) { try await chain.close(connection, context: ChainContext()) }
        #expect(translation.chosenVNIs.count == 200)
        // A request that fails downstream gives its VNI back.
        let failing = NetworkServiceChain([MetadataElement(), translation, CountingElement(failures: 1)])
        await #expect(throws: CountingElement.Injected.self) { _ = try await failing.request(tunnelRequest(id: "f"), context: ChainContext()) }
        #expect(translation.chosenVNIs.count == 200)
    }

    /// Records what the element expects of the endpoint and what it discards.
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

    /// A local endpoint: answers with the requested kernel mechanism in its own namespace, or fails.
    struct AnsweringEndpoint: NetworkServiceElement {
        let fail: Bool
        func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
            if fail { throw NSMError.unavailable("endpoint refuses") }
            var connection = request.connection
            connection.mechanism = .kernel(interfaceName: request.mechanismPreferences[0].kernelInterfaceName, namespace: NamespaceURL("inode://4/77"))
            return connection
        }
        func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {}
    }

    @Test("the endpoint's interface is named by the forwarder; once the endpoint's namespace is known the data plane is told what to expect; a refusal discards")
    func expectations() async throws {
        let plane = ExpectingPlane()
        let translation = MechanismTranslationElement(tunnelIP: IPAddress("192.168.240.2")!, dataPlane: plane) { _, _ in try NSMURL("unix:///run/nse.sock") }
        let first = try await NetworkServiceChain([translation, AnsweringEndpoint(fail: false)]).request(request(id: "a"), context: ChainContext())
        #expect(first.mechanism.kernelInterfaceName == "nsm-1")  // the client's side is answered back
        _ = try await NetworkServiceChain([translation, AnsweringEndpoint(fail: false)]).request(request(id: "b"), context: ChainContext())
        let expected = plane.expectations.withLock { $0 }
        #expect(expected.count == 2 && expected[0] == nil)
        let second = try #require(expected[1])
        #expect(second.inodeURL == "inode://4/77")
        #expect(second.kernelInterfaceName == MechanismTranslationElement.endpointInterfaceName(for: "b"))
        #expect(MechanismTranslationElement.endpointInterfaceName(for: "b").hasPrefix("nse-"))
        #expect(MechanismTranslationElement.endpointInterfaceName(for: "b").utf8.count <= 15)
        #expect(MechanismTranslationElement.endpointInterfaceName(for: "b") != MechanismTranslationElement.endpointInterfaceName(for: "c"))
        await #expect(throws: NSMError.self) {
            _ = try await NetworkServiceChain([translation, AnsweringEndpoint(fail: true)]).request(request(id: "c"), context: ChainContext())
        }
        #expect(plane.discarded.withLock { $0 } == 1)
    }

    /// The next node: answers the VXLAN preference, keeping its VNI or replacing it with `replacement`.
    struct AnsweringNode: NetworkServiceElement {
        var replacement: UInt32?
        func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
            var connection = request.connection
            var mechanism = request.mechanismPreferences[0]
            if let replacement { mechanism.vni = replacement }
            mechanism.vxlanDestinationIP = IPAddress("192.168.240.9")!
            connection.mechanism = mechanism
            return connection
        }
        func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {}
    }

    func originating() -> MechanismTranslationElement {
        MechanismTranslationElement(tunnelIP: IPAddress("192.168.240.2")!, dataPlane: RecordingPlane()) { _, _ in try NSMURL("tcp://192.168.240.9:5001") }
    }

    @Test("a tunnel this node originates proposes a VNI free here, holds it while the tunnel lives, and gives it back on close")
    func proposedVNI() async throws {
        let translation = originating()
        let store = MetadataStore()
        let chain = NetworkServiceChain([MetadataElement(store: store), translation, AnsweringNode()])
        let connection = try await chain.request(request(id: "out-1"), context: ChainContext())
        #expect(translation.chosenVNIs.count == 1)
        let plumbed = try #require((translation.dataPlane as? RecordingPlane)?.plumbed.withLock { $0.first })
        let vni = try #require(plumbed.outgoing.vni)
        #expect(!translation.chosenVNIs.claim(vni), "the proposed VNI is held")
        // A refresh proposes the same VNI again.
        _ = try await chain.request(request(id: "out-1"), context: ChainContext())
        #expect(translation.chosenVNIs.count == 1)
        #expect((translation.dataPlane as? RecordingPlane)?.plumbed.withLock { $0.last?.outgoing.vni } == vni)
        try await chain.close(connection, context: ChainContext())
        #expect(translation.chosenVNIs.count == 0)
    }

    @Test("a tunnel's MTU is the underlay's less the VXLAN overhead of the underlay's family (54 over IPv4, 74 over IPv6)",
          arguments: [("192.168.240.2", UInt32(1446)), ("fd00::2", UInt32(1426))])
    func tunnelMTU(tunnelIP: String, expected: UInt32) async throws {
        let plane = RecordingPlane()
        let translation = MechanismTranslationElement(tunnelIP: IPAddress(tunnelIP)!, dataPlane: plane) { _, _ in try NSMURL("tcp://192.168.240.9:5001") }
        let chain = NetworkServiceChain([MetadataElement(store: MetadataStore()), translation, AnsweringNode()])
        let connection = try await chain.request(request(id: "mtu-1"), context: ChainContext())
        #expect(connection.context.mtu == expected)
        #expect(plane.plumbed.withLock { $0.first?.context.mtu } == expected)
    }

    @Test("when the next node answers another VNI, it is taken here instead; one already used here fails the request and holds nothing")
    func answeredVNI() async throws {
        let translation = originating()
        let replaced = try await NetworkServiceChain([MetadataElement(), translation, AnsweringNode(replacement: 777_002)])
            .request(request(id: "out-2"), context: ChainContext())
        _ = replaced
        #expect(translation.chosenVNIs.count == 1 && !translation.chosenVNIs.claim(777_002))
        let error = await #expect(throws: NSMError.self) {
            _ = try await NetworkServiceChain([MetadataElement(), translation, AnsweringNode(replacement: 777_002)])
                .request(request(id: "out-3"), context: ChainContext())
        }
        #expect(error?.code == .failedPrecondition && error?.message.contains("777002") == true)
        #expect(translation.chosenVNIs.count == 1)
    }

    @Test("an offered VNI is kept when free here and replaced (with the direction's parity) when not")
    func offeredVNI() throws {
        let translation = element()
        var offered = Connection_Mechanism.vxlan(sourceIP: IPAddress("192.168.240.1")!)
        offered.vni = 4243
        let kept = try translation.completeTunnel(offered, previous: nil)
        #expect(kept.mechanism.vni == 4243 && kept.drawn == 4243)
        let replaced = try translation.completeTunnel(offered, previous: nil)
        let vni = try #require(replaced.mechanism.vni)
        #expect(vni != 4243 && replaced.drawn == vni && vni % 2 == 0)
        #expect(translation.chosenVNIs.count == 2)
        // On a refresh this node keeps the VNI its device has, whatever a restarted other node proposes.
        var proposed = offered
        proposed.vni = 9999
        let refreshed = try translation.completeTunnel(proposed, previous: kept.mechanism)
        #expect(refreshed.mechanism.vni == 4243 && refreshed.drawn == nil)
    }

    @Test("a VNI set hands each VNI out once until it is released")
    func vniSet() {
        let set = VNISet()
        #expect(set.claim(4242) && !set.claim(4242))
        set.release(4242)
        #expect(set.claim(4242) && set.count == 1)
    }
}
