import Foundation
import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMRuntime
import SPIFFE
import Testing

@Suite("Upstream's registry path in metadata")
struct RegistryPathTests {
    func token(_ subject: String) throws -> String {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let svid = try issuer.issue(try SPIFFEID(subject), validity: 600)
        return try PathToken(subject: subject, audience: ["spiffe://k8s.nsm/next"], expires: Date().addingTimeInterval(600)).signed(with: svid)
    }

    @Test("Go's field names both ways; unknown fields ignored")
    func json() throws {
        let path = try RegistryPath(metadata: #"{"Index":1,"PathSegments":[{"token":"a"},{"token":"b","expires":"x"}],"Other":2}"#)
        #expect(path == RegistryPath(index: 1, segments: [.init(token: "a"), .init(token: "b")]))
        let object = try JSONSerialization.jsonObject(with: Data(path.encoded.utf8)) as? [String: Any]
        #expect(object?["Index"] as? Int == 1)
        #expect((object?["PathSegments"] as? [[String: String]])?.map { $0["token"] } == ["a", "b"])
        #expect(try RegistryPath(metadata: path.encoded) == path)
    }

    @Test("bad paths are INVALID_ARGUMENT saying what was wrong")
    func refused() {
        let many = (0...MessageBounds.pathSegments).map { _ in #"{"token":"t"}"# }.joined(separator: ",")
        let long = String(repeating: "x", count: MessageBounds.tokenBytes + 1)
        for (text, words) in [
            ("{not json", "is not a registry path"),
            (#"{"Index":2,"PathSegments":[{"token":"t"}]}"#, "has Index 2 but 1 segments"),
            (#"{"Index":0,"PathSegments":[]}"#, "has Index 0 but 0 segments"),
            (#"{"Index":0,"PathSegments":[\#(many)]}"#, "at most \(MessageBounds.pathSegments)"),
            (#"{"Index":0,"PathSegments":[{"token":"\#(long)"}]}"#, "the token of segment 0 is over"),
        ] {
            #expect { try RegistryPath(metadata: text) } throws: { error in
                guard let error = error as? NSMError else { return false }
                return error.code == .invalidArgument && error.message.contains(words)
            }
        }
    }

    @Test("a hop continues the path after its caller's segment; path_ids are the tokens' subjects")
    func continued() throws {
        let first = try token("spiffe://k8s.nsm/ns/default/pod/nse-a"), second = try token("spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-a")
        let path = RegistryPath(index: 0, segments: [.init(token: first), .init(token: "stale")]).continued(with: second)
        #expect(path == RegistryPath(index: 1, segments: [.init(token: first), .init(token: second)]))
        #expect(path.subjects == ["spiffe://k8s.nsm/ns/default/pod/nse-a", "spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-a"])
        #expect(path.connectionPath.pathSegments.map(\.token) == [first, second])
        #expect(path.connectionPath.index == 1)
    }
}
