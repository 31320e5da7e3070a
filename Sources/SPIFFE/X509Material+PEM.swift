import SwiftASN1
public import X509

extension X509Material {
    /// The SVID's chain (leaf first), its key (PKCS#8) and the bundle's authorities, as PEM: for
    /// servers that take PEM, such as the admission webhook serving the API server.
    public func pem() throws(SPIFFEError) -> (chain: String, key: String, bundle: String) {
        do {
            let chain = try svid.chain.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n")
            let bundle = try self.bundle.authorities.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n")
            return (chain + "\n", try svid.privateKey.serializeAsPEM().pemString + "\n", bundle + "\n")
        } catch {
            throw SPIFFEError("cannot write \(svid.id) as PEM: \(error)")
        }
    }
}

extension X509SVID {
    /// The DNS names (and IP addresses, as text) the leaf carries besides its SPIFFE ID: what a
    /// client checking host names — the Kubernetes API server calling a webhook — accepts it for.
    public var hostNames: [String] {
        let names = (try? leaf.extensions.subjectAlternativeNames) ?? nil
        return (names ?? SubjectAlternativeNames()).compactMap { name -> String? in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets):
                let bytes = Array(octets.bytes)
                if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
                if bytes.count == 16 {
                    return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
                }
                return nil
            default: return nil
            }
        }
    }
}
