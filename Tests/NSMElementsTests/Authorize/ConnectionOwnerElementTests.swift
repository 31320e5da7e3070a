import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMElements
import Testing

@Suite("ConnectionOwnerElement")
struct ConnectionOwnerElementTests {
    static let podA = Caller.local(pid: 10, uid: 0, namespace: .inode(device: 4, inode: 1001))
    static let podASidecar = Caller.local(pid: 11, uid: 0, namespace: .inode(device: 4, inode: 1001))
    static let podB = Caller.local(pid: 20, uid: 0, namespace: .inode(device: 4, inode: 2002))

    @Test("the creator (any process of its pod) refreshes and closes; another pod, a network peer are refused; this process may")
    func owner() async throws {
        let counting = CountingElement()
        let chain = NetworkServiceChain([ConnectionOwnerElement(), MetadataElement(), counting])
        _ = try await chain.request(request(id: "pod-a-0"), context: ChainContext(caller: Self.podA))
        _ = try await chain.request(request(id: "pod-a-0"), context: ChainContext(caller: Self.podASidecar))
        for intruder in [Self.podB, Caller.remote("ipv4:10.0.0.7:40000")] {
            await #expect {
                _ = try await chain.request(request(id: "pod-a-0"), context: ChainContext(caller: intruder))
            } throws: { error in
                (error as? NSMError)?.code == .permissionDenied && "\(error)".contains("only its creator may refresh")
            }
            await #expect {
                try await chain.close(request(id: "pod-a-0").connection, context: ChainContext(caller: intruder))
            } throws: { error in
                (error as? NSMError)?.code == .permissionDenied && "\(error)".contains("only its creator may close")
            }
        }
        #expect(counting.requests == 2 && counting.closes == 0)
        // The hop's own timeout closes it (in process).
        try await chain.close(request(id: "pod-a-0").connection, context: ChainContext())
        #expect(counting.closes == 1)
        // Gone: the id is free for whoever asks next.
        _ = try await chain.request(request(id: "pod-a-0"), context: ChainContext(caller: Self.podB))
        #expect(counting.requests == 3)
    }

    @Test("a network peer is one identity whatever its source port")
    func remotePorts() async throws {
        let chain = NetworkServiceChain([ConnectionOwnerElement(), MetadataElement(), CountingElement()])
        _ = try await chain.request(request(id: "x"), context: ChainContext(caller: .remote("ipv4:10.0.0.7:40000")))
        _ = try await chain.request(request(id: "x"), context: ChainContext(caller: .remote("ipv4:10.0.0.7:40001")))
        _ = try await chain.request(request(id: "y"), context: ChainContext(caller: .remote("ipv6:[fd00::7]:1")))
        try await chain.close(request(id: "y").connection, context: ChainContext(caller: .remote("ipv6:[fd00::7]:2")))
    }
}
