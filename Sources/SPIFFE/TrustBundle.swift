public import X509

/// The CA certificates of a trust domain: a peer's SVID is accepted when it chains to one of them.
public struct TrustBundle: Sendable {
    public let trustDomain: String
    public let authorities: [Certificate]

    public init(trustDomain: String, authorities: [Certificate]) throws(SPIFFEError) {
        guard !authorities.isEmpty else { throw SPIFFEError("the trust bundle of \(trustDomain) holds no certificate") }
        self.trustDomain = trustDomain
        self.authorities = authorities
    }

    public init(trustDomain: String, pem: String) throws(SPIFFEError) {
        try self.init(trustDomain: trustDomain, authorities: try X509SVID.certificates(pem: pem, what: "the trust bundle"))
    }

    public init(trustDomain: String, der: [UInt8]) throws(SPIFFEError) {
        try self.init(trustDomain: trustDomain, authorities: try X509SVID.certificates(der: der, what: "the trust bundle"))
    }

    /// The identity of a peer whose chain the TLS layer verified against these authorities: its
    /// leaf must be an SVID of this trust domain.
    public func peerIdentity(leaf: Certificate) throws(SPIFFEError) -> SPIFFEID {
        let id = try X509SVID.identity(of: leaf)
        guard id.trustDomain == trustDomain else {
            throw SPIFFEError("peer \(id) is not in trust domain \(trustDomain)")
        }
        return id
    }
}

/// An SVID with the bundle to verify peers against, as a source hands them out. `generation`
/// changes whenever either does (rotation), so users can rebuild what they derive from them.
public struct X509Material: Sendable {
    public let svid: X509SVID
    public let bundle: TrustBundle
    public let generation: Int

    public init(svid: X509SVID, bundle: TrustBundle, generation: Int) {
        self.svid = svid
        self.bundle = bundle
        self.generation = generation
    }
}

/// Where a process gets its SVID and bundle: files (``SVIDFiles``) or the SPIFFE Workload API.
public protocol X509Source: Sendable {
    /// The SVID and bundle to use now; throws (saying why) while there is none.
    func current() throws(SPIFFEError) -> X509Material
}
