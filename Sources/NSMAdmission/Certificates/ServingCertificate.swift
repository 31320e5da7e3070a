import Foundation
import NIOCore
public import NIOSSL
import Synchronization

/// The certificate the webhook serves, swappable while it runs: every TLS handshake takes the
/// current one (NIOSSL's per-handshake context callback), so a renewed certificate is served
/// without restarting the listener.
public final class ServingCertificate: Sendable {
    public struct Material: Sendable, Equatable {
        /// PEM: the serving certificate first, then any intermediates.
        public var chainPEM: String
        public var keyPEM: String
        /// PEM of the CA(s) that clients must trust (the configurations' `caBundle`); may be empty.
        public var authorityPEM: String

        public init(chainPEM: String, keyPEM: String, authorityPEM: String) {
            self.chainPEM = chainPEM
            self.keyPEM = keyPEM
            self.authorityPEM = authorityPEM
        }
    }

    private struct Loaded: @unchecked Sendable {  // NIOSSL's certificate and key types are immutable handles
        var material: Material
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    private let current: Mutex<Loaded>

    public init(_ material: Material) throws(WebhookCertificateError) {
        current = Mutex(try Self.load(material))
    }

    public var material: Material { current.withLock { $0.material } }

    /// Serves `material` from the next handshake on.
    public func replace(with material: Material) throws(WebhookCertificateError) {
        let loaded = try Self.load(material)
        current.withLock { $0 = loaded }
    }

    /// A server configuration whose every handshake uses the certificate current at that moment.
    public func tlsConfiguration() -> TLSConfiguration {
        let loaded = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: loaded.chain.map { .certificate($0) }, privateKey: .privateKey(loaded.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [self] _, promise in
            let now = self.current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = now.chain.map { .certificate($0) }
            override.privateKey = .privateKey(now.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(_ material: Material) throws(WebhookCertificateError) -> Loaded {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(Array(material.chainPEM.utf8)) } catch {
            throw WebhookCertificateError("the serving certificate is not PEM certificates: \(error)")
        }
        guard !chain.isEmpty else { throw WebhookCertificateError("the serving certificate file holds no certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: Array(material.keyPEM.utf8), format: .pem) } catch {
            throw WebhookCertificateError("the serving key is not a PEM private key: \(error)")
        }
        return Loaded(material: material, chain: chain, key: key)
    }
}

public struct WebhookCertificateError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
