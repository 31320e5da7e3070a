import Foundation
import GRPCCore
import NSMAPI
import NSMCore
import NSMElements
import Testing

@Suite("UpdatePathElement")
struct UpdatePathElementTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var path: [(String, String)]
        var index: UInt32
        var expectedNames: [String]
        var expectedIndex: UInt32
        var keepsID: Int?  // position whose id must be kept
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty path: first segment takes the connection id", path: [], index: 0, expectedNames: ["me"], expectedIndex: 0, keepsID: nil),
        Case(name: "current segment is mine (refresh): unchanged", path: [("nsc", "a"), ("me", "b")], index: 1, expectedNames: ["nsc", "me"], expectedIndex: 1, keepsID: 1),
        Case(name: "next segment is mine (refresh through me): reused", path: [("nsc", "a"), ("me", "b"), ("nse", "c")], index: 0, expectedNames: ["nsc", "me", "nse"], expectedIndex: 1, keepsID: 1),
        Case(name: "new hop: appended", path: [("nsc", "a")], index: 0, expectedNames: ["nsc", "me"], expectedIndex: 1, keepsID: nil),
        Case(name: "next segment is someone else's: replaced with mine, rest dropped", path: [("nsc", "a"), ("other", "b"), ("nse", "c")], index: 0, expectedNames: ["nsc", "me"], expectedIndex: 1, keepsID: nil),
    ]

    @Test("a new hop's segment id is a random version-4 UUID in lowercase, as upstream's")
    func segmentIDs() async throws {
        let seen = SeenRequest()
        let chain = NetworkServiceChain([UpdatePathElement(name: "me"), CheckRequestElement { seen.set($0) }])
        var ids: Set<String> = []
        for _ in 0..<200 {
            _ = try await chain.request(request(id: "a", path: [Connection_PathSegment(name: "nsc", id: "a")], index: 0), context: ChainContext())
            let id = try #require(seen.value?.connection.path.pathSegments.last?.id)
            let parsed = try #require(UUID(uuidString: id), "not a UUID: \(id)")
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version nibble of \(id)")
            #expect(bytes[8] >> 6 == 0b10, "variant bits of \(id)")
            ids.insert(id)
        }
        #expect(ids.count == 200)
    }

    @Test("updates the path like upstream", arguments: cases)
    func update(_ testCase: Case) async throws {
        let seen = SeenRequest()
        let chain = NetworkServiceChain([UpdatePathElement(name: "me"), CheckRequestElement { seen.set($0) }])
        let original = request(id: testCase.path.isEmpty ? "pod-0" : testCase.path[Int(testCase.index)].1,
                               path: testCase.path.map { Connection_PathSegment(name: $0.0, id: $0.1) }, index: testCase.index)
        let answer = try await chain.request(original, context: ChainContext())
        let inside = try #require(seen.value)
        #expect(inside.connection.path.pathSegments.map(\.name) == testCase.expectedNames)
        #expect(inside.connection.path.index == testCase.expectedIndex)
        #expect(inside.connection.id == inside.connection.path.pathSegments[Int(testCase.expectedIndex)].id)
        if let kept = testCase.keepsID { #expect(inside.connection.path.pathSegments[kept].id == testCase.path[kept].1) }
        if testCase.path.isEmpty { #expect(inside.connection.id == "pod-0") }
        // The caller gets its own id and index back.
        #expect(answer.path.index == testCase.index)
        #expect(answer.id == original.connection.id)
    }

    @Test("a request that comes back to a hop already on its path is refused as a loop")
    func loop() async {
        let chain = NetworkServiceChain([UpdatePathElement(name: "nsmgr-a")])
        let path = [Connection_PathSegment(name: "pod", id: "p"), Connection_PathSegment(name: "nsmgr-a", id: "m"), Connection_PathSegment(name: "fwd-a", id: "f")]
        do {
            _ = try await chain.request(request(id: "f", path: path, index: 2), context: ChainContext())
            Issue.record("accepted a loop")
        } catch let error as NSMError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("loops back through nsmgr-a"))
        } catch { Issue.record("\(error)") }
    }

    @Test("an index past the path is rejected with a precise error")
    func badIndex() async {
        let chain = NetworkServiceChain([UpdatePathElement(name: "me")])
        do {
            _ = try await chain.request(request(path: [Connection_PathSegment(name: "a", id: "1")], index: 3), context: ChainContext())
            Issue.record("accepted")
        } catch let error as NSMError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("index 3 is out of range"))
        } catch { Issue.record("\(error)") }
    }
}

final class SeenRequest: Sendable {
    private let storage = Mutex<Networkservice_NetworkServiceRequest?>(nil)
    func set(_ request: Networkservice_NetworkServiceRequest) { storage.withLock { $0 = request } }
    var value: Networkservice_NetworkServiceRequest? { storage.withLock { $0 } }
}

import Synchronization
