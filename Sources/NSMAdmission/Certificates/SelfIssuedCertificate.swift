import Crypto
import Foundation
import Glibc
import SwiftASN1
import X509

/// A CA and a serving certificate made at start (`NSM_WEBHOOK_MODE=selfregister`): ECDSA P-256,
/// the CA valid ten years, the serving certificate one, for the webhook's Service names and any
/// extra DNS names or IP addresses.
public enum SelfIssuedCertificate {
    /// The names a Service `name` in `namespace` is reached by from the API server.
    public static func serviceNames(_ name: String, namespace: String) -> [String] {
        [name, "\(name).\(namespace)", "\(name).\(namespace).svc", "\(name).\(namespace).svc.cluster.local"]
    }

    public static func make(dnsNames: [String], ipAddresses: [String] = [], now: Date = Date()) throws(WebhookCertificateError) -> ServingCertificate.Material {
        do {
            let authorityKey = P256.Signing.PrivateKey()
            let authorityName = try DistinguishedName { CommonName("nsm admission webhook CA") }
            let authority = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(authorityKey.publicKey),
                notValidBefore: now - 300, notValidAfter: now + 10 * 365 * 86400, issuer: authorityName, subject: authorityName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(authorityKey))
            var names: [GeneralName] = dnsNames.map { .dnsName($0) }
            for address in ipAddresses {
                guard let bytes = Self.bytes(of: address) else { throw WebhookCertificateError("\(address) is not an IPv4 or IPv6 address") }
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
            }
            let servingKey = P256.Signing.PrivateKey()
            let serving = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(servingKey.publicKey),
                notValidBefore: now - 300, notValidAfter: now + 365 * 86400, issuer: authorityName,
                subject: try DistinguishedName { CommonName(dnsNames.last ?? ipAddresses.first ?? "nsm-admission-webhook") },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(names)
                },
                issuerPrivateKey: .init(authorityKey))
            return ServingCertificate.Material(
                chainPEM: try serving.serializeAsPEM().pemString + "\n", keyPEM: servingKey.pemRepresentation + "\n",
                authorityPEM: try authority.serializeAsPEM().pemString + "\n")
        } catch let error as WebhookCertificateError {
            throw error
        } catch {
            throw WebhookCertificateError("cannot issue the webhook's certificate: \(error)")
        }
    }

    static func bytes(of address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
