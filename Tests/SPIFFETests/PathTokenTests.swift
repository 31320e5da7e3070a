import Foundation
@testable import SPIFFE
import Testing

@Suite("Path tokens (ES256 JWTs)")
struct PathTokenTests {
    @Test("signed with an SVID, verified with its certificate: claims back; another key, an expiry, a changed claim are refused")
    func roundTrip() throws {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let svid = try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/ns/default/pod/web-0"), validity: 600)
        let other = try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/ns/default/pod/web-1"), validity: 600)
        let expires = Date().addingTimeInterval(60)
        let token = PathToken(subject: svid.id.description, audience: ["spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr"], expires: expires)
        let text = try token.signed(with: svid)
        let read = try PathToken.verify(text, signer: svid.leaf)
        #expect(read.subject == token.subject && read.audience == token.audience)
        #expect(abs(read.expires.timeIntervalSince(expires)) < 1)
        #expect { try PathToken.verify(text, signer: other.leaf) } throws: { "\($0)".contains("signature is not by the key") }
        let stale = try PathToken(subject: token.subject, audience: token.audience, expires: Date().addingTimeInterval(-5)).signed(with: svid)
        #expect { try PathToken.verify(stale, signer: svid.leaf) } throws: { "\($0)".contains("expired") }
        var parts = text.split(separator: ".").map(String.init)
        parts[1] = PathToken.base64URL(Data(#"{"aud":["x"],"exp":9999999999,"sub":"spiffe://k8s.nsm/ns/default/pod/web-0"}"#.utf8))
        #expect { try PathToken.verify(parts.joined(separator: "."), signer: svid.leaf) } throws: { "\($0)".contains("signature") }
        #expect { try PathToken.verify("not-a-jwt", signer: svid.leaf) } throws: { "\($0)".contains("not a JWT") }
    }
}
