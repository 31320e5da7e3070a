import Crypto
public import Foundation
public import X509

/// The per-hop token of NSM's path segments, as upstream makes it: a JWT signed ES256 with the
/// hop's SVID key, `sub` the hop's SPIFFE ID, `aud` the next hop's, `exp` when it lapses. The next
/// hop verifies it with the certificate its TLS peer presented.
public struct PathToken: Sendable, Hashable {
    public var subject: String
    public var audience: [String]
    public var expires: Date

    public init(subject: String, audience: [String], expires: Date) {
        self.subject = subject
        self.audience = audience
        self.expires = expires
    }

    /// The compact JWT, signed with `svid`'s key (P-256, as SPIRE issues by default).
    public func signed(with svid: X509SVID) throws(SPIFFEError) -> String {
        guard let key = svid.signingKey else { throw SPIFFEError("\(svid.id): only P-256 SVID keys sign path tokens (ES256)") }
        let header = Self.base64URL(Data(#"{"alg":"ES256","typ":"JWT"}"#.utf8))
        let claims: [String: Any] = ["sub": subject, "aud": audience, "exp": Int(expires.timeIntervalSince1970.rounded(.down))]
        guard let body = try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw SPIFFEError("cannot encode the token's claims")
        }
        let input = header + "." + Self.base64URL(body)
        guard let signature = try? key.signature(for: Data(input.utf8)) else { throw SPIFFEError("cannot sign the token with \(svid.id)'s key") }
        return input + "." + Self.base64URL(signature.rawRepresentation)
    }

    /// Reads `text` and checks it: three parts, ES256, a signature by `signer`'s key, not expired
    /// at `now`. Each refusal says which of these failed.
    public static func verify(_ text: String, signer: Certificate, now: Date = Date()) throws(SPIFFEError) -> PathToken {
        guard let key = P256.Signing.PublicKey(signer.publicKey) else {
            throw SPIFFEError("the token's signature is not by the key of the certificate the caller presented (not a P-256 key)")
        }
        return try verify(text, signer: key, now: now)
    }

    /// As ``verify(_:signer:now:)``, with the signer's key already taken from its certificate.
    public static func verify(_ text: String, signer key: P256.Signing.PublicKey, now: Date = Date()) throws(SPIFFEError) -> PathToken {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = decode(parts[0]), let bodyData = decode(parts[1]), let signatureData = decode(parts[2]) else {
            throw SPIFFEError("the token is not a JWT (three base64url parts)")
        }
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any], header["alg"] as? String == "ES256" else {
            throw SPIFFEError("the token is not signed ES256")
        }
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureData),
              key.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8))
        else {
            throw SPIFFEError("the token's signature is not by the key of the certificate the caller presented")
        }
        guard let claims = try? JSONSerialization.jsonObject(with: bodyData) as? [String: Any],
              let subject = claims["sub"] as? String, let exp = claims["exp"] as? Double
        else {
            throw SPIFFEError("the token lacks sub or exp")
        }
        let audience = (claims["aud"] as? [String]) ?? (claims["aud"] as? String).map { [$0] } ?? []
        let expires = Date(timeIntervalSince1970: exp)
        guard expires > now else { throw SPIFFEError("the token expired at \(expires)") }
        return PathToken(subject: subject, audience: audience, expires: expires)
    }

    /// The `sub` claim of a token, read without any check (for display only: who says it signed).
    public static func unverifiedSubject(of text: String) -> String? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let body = decode(parts[1]),
              let claims = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        else { return nil }
        return claims["sub"] as? String
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ part: Substring) -> Data? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }
}
