public import LeanGRPC
import NIOSSL
public import SPIFFE
import Synchronization

extension TransportSecurity {
    /// Mutual TLS with SPIFFE identities from `source`: this process presents its SVID, the peer
    /// must present one that chains to the bundle, and its identity is its SPIFFE ID. A TLS
    /// context is made once per SVID (rotation makes the next one), so each new connection
    /// presents the SVID current when it opens; connections already open stay as they are.
    public static func spiffe(_ source: any X509Source, server: Bool) -> TransportSecurity {
        let cache = ContextCache()
        return TransportSecurity(
            context: {
                let material = try source.current()
                return try cache.context(for: material) { try NIOSSLContext(configuration: try material.tlsConfiguration(server: server)) }
            },
            identify: { leaf in try source.current().peerIdentity(leafDER: leaf).description },
            generation: { (try? source.current().generation) ?? 0 })
    }
}

/// The TLS context of the current SVID generation.
final class ContextCache: Sendable {
    private let cached = Mutex<(generation: Int, context: NIOSSLContext)?>(nil)

    func context(for material: X509Material, make: () throws -> NIOSSLContext) throws -> NIOSSLContext {
        if let cached = cached.withLock({ $0 }), cached.generation == material.generation { return cached.context }
        let context = try make()
        cached.withLock { $0 = (material.generation, context) }
        return context
    }
}
