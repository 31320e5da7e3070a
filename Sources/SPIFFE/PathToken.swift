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
        let claims = Claims(sub: subject, aud: audience, exp: Int(expires.timeIntervalSince1970.rounded(.down)))
        guard let body = try? Self.encoder.encode(claims) else { throw SPIFFEError("cannot encode the token's claims") }
        let input = Self.header + "." + Base64URL.encode(body)
        guard let signature = try? key.signature(for: Array(input.utf8)) else { throw SPIFFEError("cannot sign the token with \(svid.id)'s key") }
        return input + "." + Base64URL.encode(signature.rawRepresentation)
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
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let body = Base64URL.decode(parts[1]),
              let signatureBytes = Base64URL.decode(parts[2])
        else {
            throw SPIFFEError("the token is not a JWT (three base64url parts)")
        }
        guard let header = try? decoder.decode(Header.self, from: Data(headerBytes)), header.alg == "ES256" else {
            throw SPIFFEError("the token is not signed ES256")
        }
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
              key.isValidSignature(signature, for: Array(text.utf8[..<parts[1].endIndex]))
        else {
            throw SPIFFEError("the token's signature is not by the key of the certificate the caller presented")
        }
        let token = try claims(Data(body))
        guard token.expires > now else { throw SPIFFEError("the token expired at \(token.expires)") }
        return token
    }

    /// Reads `text`'s claims without checking its signature (that needs the signer's certificate):
    /// what a hop can check of the segments before its caller's — that each is a JWT whose
    /// claims read, and when it lapses.
    public static func read(_ text: String) throws(SPIFFEError) -> PathToken {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let body = Base64URL.decode(parts[1]) else { throw SPIFFEError("the token is not a JWT (three base64url parts)") }
        return try claims(Data(body))
    }

    private static func claims(_ body: Data) throws(SPIFFEError) -> PathToken {
        guard let claims = try? decoder.decode(Claims.self, from: body) else { throw SPIFFEError("the token lacks sub or exp") }
        return PathToken(subject: claims.sub, audience: claims.aud, expires: Date(timeIntervalSince1970: TimeInterval(claims.exp)))
    }

    /// The `sub` claim of a token, read without any check (for display only: who says it signed).
    public static func unverifiedSubject(of text: String) -> String? { try? read(text).subject }

    /// The header every token of ours carries, encoded once.
    static let header = Base64URL.encode(Array(#"{"alg":"ES256","typ":"JWT"}"#.utf8))

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    private static var decoder: JSONDecoder { JSONDecoder() }

    private struct Header: Decodable {
        var alg: String
    }

    /// The registered claims a path token carries; `aud` read as a string or a list (RFC 7519 §4.1.3).
    struct Claims: Codable {
        var sub: String
        var aud: [String]
        var exp: Int

        init(sub: String, aud: [String], exp: Int) {
            self.sub = sub
            self.aud = aud
            self.exp = exp
        }

        init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            sub = try values.decode(String.self, forKey: .sub)
            let exp = try values.decode(Double.self, forKey: .exp)
            guard exp.isFinite, abs(exp) < 1e15 else {
                throw DecodingError.dataCorruptedError(forKey: .exp, in: values, debugDescription: "exp is not a time")
            }
            self.exp = Int(exp.rounded(.down))
            if let list = try? values.decode([String].self, forKey: .aud) {
                aud = list
            } else {
                aud = try values.decodeIfPresent(String.self, forKey: .aud).map { [$0] } ?? []
            }
        }
    }
}
