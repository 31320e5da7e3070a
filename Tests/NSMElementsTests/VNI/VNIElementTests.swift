import GRPCCore
import Synchronization
import IPAddressing
import NSMAPI
import NSMCore
@testable import NSMElements
import Testing

@Suite("VNIElement")
struct VNIElementTests {
    @Test("VNIs drawn for tunnels ending here are distinct, keep the direction's parity, and come back on close or failure")
    func distinctVNIs() async throws {
        let forwarder = try ForwarderMechanisms()
        let chain = forwarder.chain(then: AnsweringEndpoint())
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
        #expect(seen.count == 300 && forwarder.vni.vnis.count == 300)
        for connection in connections.prefix(100) { try await chain.close(connection, context: ChainContext()) }
        #expect(forwarder.vni.vnis.count == 200)
        // A request that fails downstream gives its VNI back.
        await #expect(throws: NSMError.self) {
            _ = try await forwarder.chain(then: AnsweringEndpoint(fail: true)).request(tunnelRequest(id: "f"), context: ChainContext())
        }
        #expect(forwarder.vni.vnis.count == 200)
    }

    @Test("a tunnel this node originates proposes a VNI free here, holds it while the tunnel lives, and gives it back on close")
    func proposedVNI() async throws {
        let plane = RecordingPlane()
        let forwarder = try ForwarderMechanisms(nextHop: "tcp://192.168.240.9:5001", plane: plane)
        let chain = forwarder.chain(then: AnsweringNode())
        let connection = try await chain.request(request(id: "out-1"), context: ChainContext())
        #expect(forwarder.vni.vnis.count == 1)
        let vni = try #require(plane.plumbed.withLock { $0.first?.outgoing.vni })
        #expect(!forwarder.vni.vnis.claim(vni), "the proposed VNI is held")
        // A refresh proposes the same VNI again.
        _ = try await chain.request(request(id: "out-1"), context: ChainContext())
        #expect(forwarder.vni.vnis.count == 1)
        #expect(plane.plumbed.withLock { $0.last?.outgoing.vni } == vni)
        try await chain.close(connection, context: ChainContext())
        #expect(forwarder.vni.vnis.count == 0)
    }

    @Test("when the next node answers another VNI, it is taken here instead; one already used here fails the request and holds nothing")
    func answeredVNI() async throws {
        let forwarder = try ForwarderMechanisms(nextHop: "tcp://192.168.240.9:5001")
        _ = try await forwarder.chain(then: AnsweringNode(replacement: 777_002)).request(request(id: "out-2"), context: ChainContext())
        #expect(forwarder.vni.vnis.count == 1 && !forwarder.vni.vnis.claim(777_002))
        let error = await #expect(throws: NSMError.self) {
            _ = try await forwarder.chain(then: AnsweringNode(replacement: 777_002)).request(request(id: "out-3"), context: ChainContext())
        }
        #expect(error?.code == .failedPrecondition && error?.message.contains("777002") == true)
        #expect(forwarder.vni.vnis.count == 1)
    }

    @Test("an offered VNI is kept when free here and replaced (with the direction's parity) when not; a refresh keeps it")
    func offeredVNI() async throws {
        let forwarder = try ForwarderMechanisms()
        let chain = forwarder.chain(then: AnsweringEndpoint())
        let kept = try await chain.request(tunnelRequest(id: "o-1", vni: 4243), context: ChainContext())
        #expect(kept.mechanism.vni == 4243)
        let replaced = try await chain.request(tunnelRequest(id: "o-2", vni: 4243), context: ChainContext())
        let vni = try #require(replaced.mechanism.vni)
        #expect(vni != 4243 && vni % 2 == 0 && forwarder.vni.vnis.count == 2)
        // On a refresh this node keeps the VNI its device has, whatever a restarted other node proposes.
        let refreshed = try await chain.request(tunnelRequest(id: "o-1", vni: 9999), context: ChainContext())
        #expect(refreshed.mechanism.vni == 4243 && forwarder.vni.vnis.count == 2)
    }

    @Test("a VNI set hands each VNI out once until it is released")
    func vniSet() {
        let set = VNISet()
        #expect(set.claim(4242) && !set.claim(4242))
        set.release(4242)
        #expect(set.claim(4242) && set.count == 1)
    }
}
