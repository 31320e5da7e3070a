/// A serving certificate from a source that rotates it itself — the SPIFFE Workload API or SVID
/// files (`NSM_WEBHOOK_MODE=spire`): the webhook serves ``current()`` and takes it again whenever
/// ``generation()`` moves, re-registering when the CA bundle changed.
public struct RotatingCertificate: Sendable {
    /// The certificate, key and CA bundle now; throws (saying why) when they cannot be served,
    /// e.g. a certificate without the name the API server calls.
    public var current: @Sendable () throws -> ServingCertificate.Material
    /// A number that changes when ``current()`` would give another certificate.
    public var generation: @Sendable () -> Int
    /// Where the certificates come from, for logs.
    public var origin: String

    public init(origin: String, current: @escaping @Sendable () throws -> ServingCertificate.Material, generation: @escaping @Sendable () -> Int) {
        self.origin = origin
        self.current = current
        self.generation = generation
    }
}
