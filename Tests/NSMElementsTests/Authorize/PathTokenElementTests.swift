import Foundation
import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMElements
import SPIFFE
import SwiftASN1
import Testing
import X509

@Suite("PathTokenElement")
struct PathTokenElementTests {
    /// An SVID held in memory: the hop's own identity.
    struct Fixed: X509Source {
        let material: X509Material
        func current() throws(SPIFFEError) -> X509Material { material }
    }

    let issuer: SVIDIssuer
    let client: X509SVID, manager: X509SVID, forwarder: X509SVID, endpoint: X509SVID, stranger: X509SVID

    init() throws {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        self.issuer = issuer
        func svid(_ path: String) throws -> X509SVID { try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/" + path), validity: 600) }
        client = try svid("ns/default/pod/web-0")
        manager = try svid("ns/nsm-system/pod/nsmgr-a")
        forwarder = try svid("ns/nsm-system/pod/forwarder-a")
        endpoint = try svid("ns/default/pod/nse-0")
        stranger = try svid("ns/default/pod/other")
    }

    func token(_ signer: X509SVID, for audience: X509SVID, expires: Date = Date().addingTimeInterval(60)) throws -> String {
        try PathToken(subject: signer.id.description, audience: [audience.id.description], expires: expires).signed(with: signer)
    }

    /// A Request as the endpoint receives it: client → manager → forwarder, the forwarder calling.
    func request(tokens: [String]) -> Networkservice_NetworkServiceRequest {
        var request = Networkservice_NetworkServiceRequest()
        request.connection.id = "c-1"
        request.connection.path.index = UInt32(tokens.count - 1)
        request.connection.path.pathSegments = tokens.enumerated().map { index, token in
            var segment = Connection_PathSegment()
            segment.name = "hop-\(index)"
            segment.id = "id-\(index)"
            segment.token = token
            return segment
        }
        return request
    }

    func check(_ request: Networkservice_NetworkServiceRequest, caller: X509SVID) async throws {
        let element = PathTokenElement(identity: Fixed(material: X509Material(svid: endpoint, bundle: issuer.bundle, generation: 1)))
        let der = try { var serializer = DER.Serializer(); try serializer.serialize(caller.leaf); return serializer.serializedBytes }()
        let context = ChainContext(caller: .local(pid: 7, uid: 0, namespace: nil, spiffeID: caller.id.description, certificate: der))
        _ = try await NetworkServiceChain([element, CheckRequestElement { _ in }]).request(request, context: context)
    }

    func refused(_ request: Networkservice_NetworkServiceRequest, caller: X509SVID, saying words: [String]) async {
        await #expect {
            try await check(request, caller: caller)
        } throws: { error in
            guard let error = error as? NSMError, error.code == .permissionDenied else { return false }
            return words.allSatisfy { error.message.contains($0) }
        }
    }

    @Test("a chained path is accepted: each segment's token is meant for the hop that signed the next")
    func chained() async throws {
        try await check(request(tokens: [
            try token(client, for: manager), try token(manager, for: forwarder), try token(forwarder, for: endpoint),
        ]), caller: forwarder)
    }

    @Test("the caller's own token: missing, signed by another key, by another hop, or for another hop — each refused by name")
    func callerToken() async throws {
        let earlier = [try token(client, for: manager), try token(manager, for: forwarder)]
        await refused(request(tokens: earlier + [""]), caller: forwarder, saying: ["segment 2 carries no token"])
        await refused(request(tokens: earlier + [try token(stranger, for: endpoint)]), caller: forwarder, saying: ["segment 2", "signature"])
        await refused(request(tokens: earlier + [try token(forwarder, for: manager)]), caller: forwarder, saying: ["segment 2", "meant for", "nsmgr-a"])
    }

    @Test("segments before the caller's: a token not chained, lapsed, missing or not a JWT is refused, naming the segment")
    func earlierSegments() async throws {
        let last = try token(forwarder, for: endpoint)
        // The client's token was for another manager: someone spliced segments together.
        await refused(request(tokens: [try token(client, for: stranger), try token(manager, for: forwarder), last]), caller: forwarder,
                      saying: ["not chained", "segment 0", "pod/other", "segment 1", "nsmgr-a"])
        await refused(request(tokens: [try token(client, for: manager), try token(manager, for: stranger), last]), caller: forwarder,
                      saying: ["not chained", "segment 1"])
        await refused(request(tokens: [try token(client, for: manager, expires: Date().addingTimeInterval(-5)), try token(manager, for: forwarder), last]),
                      caller: forwarder, saying: ["segment 0", "expired"])
        await refused(request(tokens: ["", try token(manager, for: forwarder), last]), caller: forwarder, saying: ["segment 0", "not a JWT"])
        await refused(request(tokens: [try token(client, for: manager), "e30.e30.e30", last]), caller: forwarder, saying: ["segment 1", "lacks sub or exp"])
    }
}
