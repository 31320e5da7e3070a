public import GRPCNIOTransportHTTP2Posix
public import SPIFFE

extension HTTP2ClientTransport.Posix.TransportSecurity {
    /// For a grpc-swift client of the mesh: mutual TLS with `identity` (the SVID current at each
    /// handshake, the bundle as trust roots, no host names), or plaintext without one.
    public static func mesh(_ identity: (any X509Source)?) throws -> Self {
        guard let identity else { return .plaintext }
        return try GRPCPeer.tls(identity)
    }
}
