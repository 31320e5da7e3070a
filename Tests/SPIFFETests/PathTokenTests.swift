import Foundation
import Crypto
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
        parts[1] = Base64URL.encode(Array(#"{"aud":["x"],"exp":9999999999,"sub":"spiffe://k8s.nsm/ns/default/pod/web-0"}"#.utf8))
        #expect { try PathToken.verify(parts.joined(separator: "."), signer: svid.leaf) } throws: { "\($0)".contains("signature") }
        #expect { try PathToken.verify("not-a-jwt", signer: svid.leaf) } throws: { "\($0)".contains("not a JWT") }
    }

    @Test("base64url: every length round-trips and matches Foundation's base64 with the URL alphabet, unpadded; bad text refused")
    func base64URL() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == expected)
            #expect(Base64URL.decode(Substring(encoded)) == bytes)
        }
        #expect(Base64URL.decode("ab+c") == nil)
        #expect(Base64URL.decode("abc=") == nil)
        #expect(Base64URL.decode("abcde") == nil)
    }

    @Test("a token whose aud is one string, or whose exp is absurd, is read as RFC 7519 allows or refused by name")
    func claimShapes() throws {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let svid = try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/ns/default/pod/web-0"), validity: 600)
        func token(_ claims: String) throws -> String {
            let input = PathToken.header + "." + Base64URL.encode(Array(claims.utf8))
            let signature = try #require(svid.signingKey).signature(for: Array(input.utf8))
            return input + "." + Base64URL.encode(signature.rawRepresentation)
        }
        let single = try PathToken.verify(try token(#"{"aud":"spiffe://k8s.nsm/x","exp":9999999999,"sub":"a"}"#), signer: svid.leaf)
        #expect(single.audience == ["spiffe://k8s.nsm/x"])
        #expect { try PathToken.verify(try token(#"{"aud":[],"exp":1e300,"sub":"a"}"#), signer: svid.leaf) } throws: { "\($0)".contains("lacks sub or exp") }
        #expect { try PathToken.verify(try token(#"{"aud":[],"sub":"a"}"#), signer: svid.leaf) } throws: { "\($0)".contains("lacks sub or exp") }
    }
}
