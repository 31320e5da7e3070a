public import NIOSSL
import SwiftASN1
import X509

extension X509Material {
    /// TLS 1.2 or later presenting this SVID and requiring the peer's, which must chain to the
    /// bundle; no host names are checked (SPIFFE peers are named by their URI SAN, checked after
    /// the handshake with ``peerIdentity(leafDER:)``). HTTP/2 is offered by ALPN.
    public func tlsConfiguration(server: Bool) throws(SPIFFEError) -> TLSConfiguration {
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKey
        let roots: [NIOSSLCertificate]
        do {
            chain = try svid.chain.map { .certificate(try NIOSSLCertificate(bytes: try $0.derBytes(), format: .der)) }
            key = try NIOSSLPrivateKey(bytes: Array(try svid.privateKey.serializeAsPEM().derBytes), format: .der)
            roots = try bundle.authorities.map { try NIOSSLCertificate(bytes: try $0.derBytes(), format: .der) }
        } catch {
            throw SPIFFEError("cannot hand \(svid.id) to TLS: \(error)")
        }
        var configuration = server
            ? TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            : TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = chain
        configuration.privateKey = .privateKey(key)
        configuration.trustRoots = .certificates(roots)
        configuration.certificateVerification = .noHostnameVerification
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        return configuration
    }

    /// The SPIFFE ID of a peer whose chain TLS verified against the bundle, from its leaf.
    public func peerIdentity(leafDER: [UInt8]?) throws(SPIFFEError) -> SPIFFEID {
        guard let leafDER else { throw SPIFFEError("the peer presented no certificate") }
        let leaf: Certificate
        do { leaf = try Certificate(derEncoded: leafDER) } catch {
            throw SPIFFEError("the peer's certificate cannot be parsed: \(error)")
        }
        return try bundle.peerIdentity(leaf: leaf)
    }
}

extension Certificate {
    func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}
