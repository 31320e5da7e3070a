import IPAddressing
import NSMAdmission
import SPIFFE

/// The admission webhook's serving certificate from its SPIFFE identity (`NSM_WEBHOOK_MODE=spire`).
enum SVIDServingCertificate {
    /// The source's SVID as the webhook serves it, refused unless it carries one of the names the
    /// API server calls the webhook by (it checks the host name; SPIRE adds DNS names to an SVID
    /// only when its registration entry lists them).
    static func make(_ source: any X509Source, calledAs names: [String]) -> RotatingCertificate {
        RotatingCertificate(
            origin: "the SPIFFE identity",
            current: {
                let material = try source.current()
                let carried = material.svid.hostNames
                guard carried.contains(where: { held in names.contains { same(held, $0) } }) else {
                    throw WebhookCertificateError(
                        "the SVID \(material.svid.id) carries no name the API server calls the webhook by (\(names.joined(separator: ", "))); it has "
                            + (carried.isEmpty ? "no DNS names" : carried.joined(separator: ", "))
                            + ". Give the webhook's registration entry that DNS name (with spire-controller-manager: dnsNameTemplates in its ClusterSPIFFEID)")
                }
                let pem = try material.pem()
                return ServingCertificate.Material(chainPEM: pem.chain, keyPEM: pem.key, authorityPEM: pem.bundle)
            },
            generation: { (try? source.current().generation) ?? 0 })
    }

    /// Host names compare without case; addresses by value (however they are written).
    static func same(_ held: String, _ called: String) -> Bool {
        if let a = IPAddress(held), let b = IPAddress(called) { return a == b }
        return held.lowercased() == called.lowercased()
    }
}
