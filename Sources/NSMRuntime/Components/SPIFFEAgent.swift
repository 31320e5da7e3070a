import Foundation
import LeanGRPC
import Logging
public import NSMCore
public import SPIFFE
public import ServiceLifecycle

/// `nsm spiffe-agent`: the SPIFFE Workload API (X.509) for a cluster without SPIRE — the local
/// mesh. A CA of its own issues short-lived SVIDs, rotated at half-life; who a caller is comes
/// from its socket credentials (as SPIRE's unix attestor), through `attest`.
public struct SPIFFEAgent: Sendable {
    public struct Configuration: Sendable {
        public var listen: NSMURL
        public var trustDomain: String
        public var svidLifetime: Duration
        /// The caller's SPIFFE ID from its credentials; throws (saying why) for a stranger.
        public var attest: @Sendable (UnixPeerCredentials) throws -> SPIFFEID

        public init(listen: NSMURL, trustDomain: String, svidLifetime: Duration, attest: @escaping @Sendable (UnixPeerCredentials) throws -> SPIFFEID) {
            self.listen = listen
            self.trustDomain = trustDomain
            self.svidLifetime = svidLifetime
            self.attest = attest
        }
    }

    public let issuer: SVIDIssuer
    public let server: GRPCServerService
    public var services: [any Service] { [server] }

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "nsm.spiffe-agent")) throws {
        guard case .unix = configuration.listen else {
            throw NSMError.invalidArgument("the Workload API is served on a unix socket (its callers are known by their credentials), not \(configuration.listen)")
        }
        issuer = try SVIDIssuer(trustDomain: configuration.trustDomain)
        let (seconds, attoseconds) = configuration.svidLifetime.components
        let attest = configuration.attest
        // Each SVID also names its holder's role as a DNS SAN (`node0`, `nse-a`), for clients that
        // insist on checking a host name (grpcio).
        let service = WorkloadAPIService(
            issuer: issuer, lifetime: Double(seconds) + Double(attoseconds) / 1e18,
            dnsNames: { id in id.path.split(separator: "/").last.map { [String($0)] } ?? [] }
        ) {
            guard let credentials = ServerCaller.current?.unix else { throw SPIFFEError("the caller's credentials are unknown") }
            let id = try attest(credentials)
            logger.info("issuing", metadata: ["spiffe_id": "\(id)", "pid": "\(credentials.pid)"])
            return id
        }
        // The Workload API itself is plaintext over its unix socket, as SPIRE's agent serves it.
        server = GRPCServerService(url: configuration.listen, services: [service], logger: logger, identity: nil)
    }
}
