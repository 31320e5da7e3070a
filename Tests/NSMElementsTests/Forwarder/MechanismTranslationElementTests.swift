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

    @Test("a VNI set hands each VNI out once until it is released")
    func vniSet() {
        let set = VNISet()
        #expect(set.claim(4242) && !set.claim(4242))
        set.release(4242)
        #expect(set.claim(4242) && set.count == 1)
    }
}
