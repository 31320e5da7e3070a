public import Foundation
public import Crypto
public import X509
import SwiftASN1

/// An X.509-SVID: the certificate chain (leaf first) whose leaf carries exactly one URI SAN, the
/// SPIFFE ID, and the leaf's private key.
public struct X509SVID: Sendable {
    public let id: SPIFFEID
    public let chain: [Certificate]
    public let privateKey: Certificate.PrivateKey
    /// The key as P-256, for signing path tokens (`nil` for other key types).
    public let signingKey: P256.Signing.PrivateKey?

    public var leaf: Certificate { chain[0] }
    public var notAfter: Date { leaf.notValidAfter }

    /// Checks the leaf as an SVID (one SPIFFE URI SAN, not a CA) and that the key is the leaf's.
    public init(chain: [Certificate], privateKey: Certificate.PrivateKey) throws(SPIFFEError) {
        guard let leaf = chain.first else { throw SPIFFEError("the SVID has no certificate") }
        id = try Self.identity(of: leaf)
        guard privateKey.publicKey == leaf.publicKey else { throw SPIFFEError("the SVID's private key does not belong to its certificate (\(id))") }
        self.chain = chain
        self.privateKey = privateKey
        signingKey = (try? privateKey.serializeAsPEM().pemString).flatMap { try? P256.Signing.PrivateKey(pemRepresentation: $0) }
    }

    /// From PEM: the certificates (leaf first) and a PKCS#8 or SEC1 private key.
    public init(chainPEM: String, keyPEM: String) throws(SPIFFEError) {
        let chain = try Self.certificates(pem: chainPEM, what: "the SVID's certificate file")
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: keyPEM) } catch {
            throw SPIFFEError("the SVID's key is not a PEM private key (PKCS#8 or SEC1): \(error)")
        }
        try self.init(chain: chain, privateKey: key)
    }

    /// From the Workload API's bytes: DER certificates concatenated, a PKCS#8 DER key.
    public init(chainDER: [UInt8], keyDER: [UInt8]) throws(SPIFFEError) {
        let chain = try Self.certificates(der: chainDER, what: "x509_svid")
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(derBytes: keyDER) } catch {
            throw SPIFFEError("x509_svid_key is not a PKCS#8 DER private key: \(error)")
        }
        try self.init(chain: chain, privateKey: key)
    }

    /// The SPIFFE ID of an SVID's leaf: exactly one URI SAN, a valid SPIFFE ID, and not a CA.
    public static func identity(of leaf: Certificate) throws(SPIFFEError) -> SPIFFEID {
        let names: SubjectAlternativeNames?
        do { names = try leaf.extensions.subjectAlternativeNames } catch {
            throw SPIFFEError("the certificate's subject alternative names cannot be read: \(error)")
        }
        let uris = (names ?? SubjectAlternativeNames()).compactMap { name -> String? in
            if case .uniformResourceIdentifier(let uri) = name { return uri }
            return nil
        }
        guard uris.count == 1, let uri = uris.first else {
            throw SPIFFEError("an X.509-SVID has exactly one URI SAN, the SPIFFE ID; this certificate (\(leaf.subject)) has \(uris.count)")
        }
        let id = try SPIFFEID(uri)
        if case .isCertificateAuthority? = try? leaf.extensions.basicConstraints {
            throw SPIFFEError("\(id): an X.509-SVID leaf must not be a CA certificate")
        }
        return id
    }

    static func certificates(pem: String, what: String) throws(SPIFFEError) -> [Certificate] {
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: pem) } catch {
            throw SPIFFEError("\(what) is not PEM: \(error)")
        }
        var certificates: [Certificate] = []
        for document in documents where document.discriminator == "CERTIFICATE" {
            do { certificates.append(try Certificate(derEncoded: document.derBytes)) } catch {
                throw SPIFFEError("\(what) holds a certificate that cannot be parsed: \(error)")
            }
        }
        guard !certificates.isEmpty else { throw SPIFFEError("\(what) holds no CERTIFICATE block") }
        return certificates
    }

    /// DER certificates written one after another (the Workload API's form).
    static func certificates(der: [UInt8], what: String) throws(SPIFFEError) -> [Certificate] {
        var certificates: [Certificate] = []
        var rest = der[...]
        while !rest.isEmpty {
            guard let length = firstElementLength(rest) else {
                throw SPIFFEError("\(what) holds bytes that are not a DER certificate (a truncated or malformed element)")
            }
            do {
                certificates.append(try Certificate(derEncoded: Array(rest.prefix(length))))
            } catch {
                throw SPIFFEError("\(what) holds bytes that are not a DER certificate: \(error)")
            }
            rest = rest.dropFirst(length)
        }
        guard !certificates.isEmpty else { throw SPIFFEError("\(what) is empty") }
        return certificates
    }
}

/// The length of the first DER element of `bytes` (tag, length, contents), `nil` when the
/// bytes do not hold a whole one.
func firstElementLength(_ bytes: ArraySlice<UInt8>) -> Int? {
    var index = bytes.startIndex
    guard index < bytes.endIndex else { return nil }
    index += 1  // tag (certificates are SEQUENCEs: one byte)
    guard index < bytes.endIndex else { return nil }
    let first = bytes[index]
    index += 1
    var length = Int(first)
    if first & 0x80 != 0 {
        let count = Int(first & 0x7f)
        guard count > 0, count <= 4, index + count <= bytes.endIndex else { return nil }
        length = bytes[index..<(index + count)].reduce(0) { $0 << 8 | Int($1) }
        index += count
    }
    let total = index - bytes.startIndex + length
    return total <= bytes.count ? total : nil
}
