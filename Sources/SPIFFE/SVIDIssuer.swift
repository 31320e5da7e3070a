import Crypto
public import Foundation
public import X509
import SwiftASN1

/// A small certificate authority for one trust domain that issues short-lived X.509-SVIDs, as a
/// SPIRE server does: ECDSA P-256, the CA's URI SAN the trust domain's ID, each leaf with exactly
/// one URI SAN, `digitalSignature`, server and client auth. The local mesh's identities and the
/// tests' come from here.
public struct SVIDIssuer: Sendable {
    public let trustDomain: String
    public let authority: Certificate
    let authorityKey: P256.Signing.PrivateKey

    public init(trustDomain: String, validity: TimeInterval = 365 * 86400, now: Date = Date()) throws(SPIFFEError) {
        let domainID = try SPIFFEID("spiffe://\(trustDomain)")
        self.trustDomain = trustDomain
        authorityKey = P256.Signing.PrivateKey()
        do {
            let name = try DistinguishedName {
                OrganizationName("SPIFFE")
                CommonName("\(trustDomain) CA")
            }
            authority = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(authorityKey.publicKey),
                notValidBefore: now - 60, notValidAfter: now + validity, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectAlternativeNames([.uniformResourceIdentifier(domainID.description)])
                },
                issuerPrivateKey: .init(authorityKey))
        } catch {
            throw SPIFFEError("cannot make the CA of \(trustDomain): \(error)")
        }
    }

    public var bundle: TrustBundle {
        // One authority, never empty.
        try! TrustBundle(trustDomain: trustDomain, authorities: [authority])
    }

    /// An SVID for `id`, valid from a minute ago for `validity`, with DNS SANs `dnsNames` beside
    /// the SPIFFE ID (the specification allows them; clients that insist on host names use them).
    /// `uris` replaces the URI SANs (tests make certificates that are not SVIDs with it).
    public func issue(_ id: SPIFFEID, validity: TimeInterval, now: Date = Date(), dnsNames: [String] = [], uris: [String]? = nil) throws(SPIFFEError) -> X509SVID {
        let key = P256.Signing.PrivateKey()
        let leaf = try certificate(for: id, key: key, validity: validity, now: now, uris: uris ?? [id.description], dnsNames: dnsNames)
        return try X509SVID(chain: [leaf], privateKey: .init(key))
    }

    /// The leaf certificate alone (for certificates that are deliberately not SVIDs).
    public func certificate(
        for id: SPIFFEID, key: P256.Signing.PrivateKey, validity: TimeInterval, now: Date = Date(), uris: [String], dnsNames: [String] = []
    ) throws(SPIFFEError) -> Certificate {
        guard id.trustDomain == trustDomain else { throw SPIFFEError("\(id) is not in trust domain \(trustDomain)") }
        do {
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now - 60, notValidAfter: now + validity, issuer: authority.subject,
                subject: try DistinguishedName { OrganizationName("SPIFFE") },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    SubjectAlternativeNames(uris.map { .uniformResourceIdentifier($0) } + dnsNames.map { .dnsName($0) })
                },
                issuerPrivateKey: .init(authorityKey))
        } catch {
            throw SPIFFEError("cannot issue a certificate for \(id): \(error)")
        }
    }
}

extension X509SVID {
    /// PEM texts as spiffe-helper writes them: the chain, the PKCS#8 key.
    public func pem() throws(SPIFFEError) -> (chain: String, key: String) {
        do {
            let chain = try self.chain.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
            return (chain, try privateKey.serializeAsPEM().pemString + "\n")
        } catch {
            throw SPIFFEError("cannot write \(id) as PEM: \(error)")
        }
    }
}

extension TrustBundle {
    public func pem() throws(SPIFFEError) -> String {
        do { return try authorities.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n" } catch {
            throw SPIFFEError("cannot write the bundle of \(trustDomain) as PEM: \(error)")
        }
    }
}
