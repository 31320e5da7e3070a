import NIOCertificateReloading
import NIOSSL
import SPIFFE
import Synchronization

/// The current SVID as NIOSSL's per-handshake override, for grpc-swift's client transports
/// (whose TLS configuration is otherwise fixed when they are made): every new connection
/// presents the SVID current then.
final class SVIDReloader: CertificateReloader {
    let source: any X509Source
    private let cached = Mutex<(generation: Int, override: NIOSSLContextConfigurationOverride)?>(nil)

    init(source: any X509Source) { self.source = source }

    var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        guard let material = try? source.current() else { return .noChanges }
        if let cached = cached.withLock({ $0 }), cached.generation == material.generation { return cached.override }
        guard let configuration = try? material.tlsConfiguration(server: false) else { return .noChanges }
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = configuration.certificateChain
        override.privateKey = configuration.privateKey
        cached.withLock { $0 = (material.generation, override) }
        return override
    }
}
