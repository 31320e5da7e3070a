import Foundation
import Glibc

/// The webhook's certificate from files (`NSM_CERT_FILE_PATH`, `NSM_KEY_FILE_PATH`,
/// `NSM_CA_BUNDLE_FILE_PATH`), as a Secret volume or cert-manager provides them; read again when
/// any of them changes (a Secret volume swaps a symlink: the path's target, size or time moves).
public struct CertificateFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var authority: String?

    public init(certificate: String, key: String, authority: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.authority = authority
    }

    public func read() throws(WebhookCertificateError) -> ServingCertificate.Material {
        ServingCertificate.Material(chainPEM: try Self.text(certificate), keyPEM: try Self.text(key), authorityPEM: try authority.map(Self.text) ?? "")
    }

    /// What identifies the files' current contents without reading them.
    public func fingerprint() -> [String] {
        [certificate, key, authority].compactMap { $0 }.map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return "\(path): missing" }
            return "\(path): \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
    }

    static func text(_ path: String) throws(WebhookCertificateError) -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw WebhookCertificateError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}
