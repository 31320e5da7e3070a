public import GRPCCore
import Foundation
import Synchronization
import SwiftASN1
import X509

/// The X.509 part of the SPIFFE Workload API as a SPIRE agent serves it: `FetchX509SVID`
/// streams an SVID for the caller — who it is, `attest` says (a SPIRE agent's unix attestor
/// decides from the caller's socket credentials) — and a new one at half of each SVID's life;
/// `FetchX509Bundles` streams the bundle. A call without `workload.spiffe.io: true` is refused
/// with `INVALID_ARGUMENT`, as the specification says.
public struct WorkloadAPIService: WorkloadAPI_SpiffeWorkloadAPI.ServiceProtocol {
    public static let securityHeader = "workload.spiffe.io"

    let issuer: SVIDIssuer
    let lifetime: TimeInterval
    /// The SVID each ID holds now, shared by all its streams until half its life has passed (as
    /// SPIRE's agent caches them): a process that opens a second stream gets the same SVID.
    let issued = Issued()

    final class Issued: Sendable {
        let svids = Mutex<[SPIFFEID: (svid: X509SVID, renewAt: Date)]>([:])
    }
    let attest: @Sendable () throws -> SPIFFEID
    let dnsNames: @Sendable (SPIFFEID) -> [String]

    /// - Parameter dnsNames: DNS SANs to add to an ID's SVIDs (none by default).
    public init(
        issuer: SVIDIssuer, lifetime: TimeInterval, dnsNames: @escaping @Sendable (SPIFFEID) -> [String] = { _ in [] },
        attest: @escaping @Sendable () throws -> SPIFFEID
    ) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.dnsNames = dnsNames
        self.attest = attest
    }

    public func fetchX509SVID(
        request: ServerRequest<WorkloadAPI_X509SVIDRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<WorkloadAPI_X509SVIDResponse> {
        try Self.checkHeader(request.metadata)
        let id = try identify()
        return StreamingServerResponse { writer in
            while !Task.isCancelled {
                let (svid, renewAt) = try current(for: id)
                var message = WorkloadAPI_X509SVIDResponse()
                message.svids = [try Self.message(svid, bundle: issuer.bundle)]
                try await writer.write(message)
                // Rotate at half-life, as SPIRE's agent does.
                try await Task.sleep(for: .seconds(max(0.05, renewAt.timeIntervalSinceNow)))
            }
            return [:]
        }
    }

    public func fetchX509Bundles(
        request: ServerRequest<WorkloadAPI_X509BundlesRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<WorkloadAPI_X509BundlesResponse> {
        try Self.checkHeader(request.metadata)
        _ = try identify()
        return StreamingServerResponse { writer in
            var message = WorkloadAPI_X509BundlesResponse()
            message.bundles = ["spiffe://\(issuer.trustDomain)": try Self.der(issuer.bundle.authorities)]
            try await writer.write(message)
            // The CA does not rotate while this server runs: hold the stream until the caller leaves.
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            return [:]
        }
    }

    /// The cached SVID of `id` until half of its life has passed, else a new one; and when the
    /// next one is due.
    func current(for id: SPIFFEID) throws -> (svid: X509SVID, renewAt: Date) {
        let now = Date()
        if let held = issued.svids.withLock({ $0[id] }), now < held.renewAt { return held }
        let svid = try issuer.issue(id, validity: lifetime, now: now, dnsNames: dnsNames(id))
        let renewed = (svid: svid, renewAt: now.addingTimeInterval(lifetime / 2))
        issued.svids.withLock { $0[id] = renewed }
        return renewed
    }

    func identify() throws -> SPIFFEID {
        do { return try attest() } catch {
            throw RPCError(code: .permissionDenied, message: "no identity for this caller: \(error)")
        }
    }

    static func checkHeader(_ metadata: Metadata) throws {
        guard metadata[stringValues: securityHeader].contains("true") else {
            throw RPCError(code: .invalidArgument, message: "security header missing from request: send \(securityHeader): true")
        }
    }

    static func message(_ svid: X509SVID, bundle: TrustBundle) throws -> WorkloadAPI_X509SVID {
        var message = WorkloadAPI_X509SVID()
        message.spiffeID = svid.id.description
        message.x509Svid = try der(svid.chain)
        message.x509SvidKey = Data(try svid.privateKey.serializeAsPEM().derBytes)
        message.bundle = try der(bundle.authorities)
        return message
    }

    static func der(_ certificates: [Certificate]) throws -> Data {
        Data(try certificates.flatMap { try $0.derBytes() })
    }
}
