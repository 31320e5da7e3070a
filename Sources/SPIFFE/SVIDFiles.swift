import Foundation
import Synchronization

/// An SVID and bundle from files, as spiffe-helper writes them (`svid.pem`, `svid_key.pem`,
/// `svid_bundle.pem`) or cert-manager's csi-driver-spiffe mounts them (`tls.crt`, `tls.key`,
/// `ca.crt`). Read again whenever a file's identity, size or time changes (both rotate by
/// replacing files or swapping a symbolic link); until the new files read whole, the previous
/// SVID stays in use.
public final class SVIDFiles: X509Source {
    public struct Layout: Sendable, Hashable {
        public var certificate: String
        public var key: String
        public var bundle: String

        public static let spiffeHelper = Layout(certificate: "svid.pem", key: "svid_key.pem", bundle: "svid_bundle.pem")
        public static let csiDriver = Layout(certificate: "tls.crt", key: "tls.key", bundle: "ca.crt")
    }

    public let directory: String
    public let layout: Layout
    private struct Loaded {
        var fingerprint: [String]
        var material: X509Material
    }
    private let loaded = Mutex<Loaded?>(nil)

    /// `layout` defaults to whichever of the two layouts the directory holds.
    public init(directory: String, layout: Layout? = nil) throws(SPIFFEError) {
        self.directory = directory
        if let layout {
            self.layout = layout
        } else if FileManager.default.fileExists(atPath: "\(directory)/\(Layout.spiffeHelper.certificate)") {
            self.layout = .spiffeHelper
        } else if FileManager.default.fileExists(atPath: "\(directory)/\(Layout.csiDriver.certificate)") {
            self.layout = .csiDriver
        } else {
            throw SPIFFEError("\(directory) holds neither svid.pem, svid_key.pem, svid_bundle.pem (spiffe-helper) nor tls.crt, tls.key, ca.crt (csi-driver-spiffe)")
        }
        _ = try current()
    }

    var paths: [String] { [layout.certificate, layout.key, layout.bundle].map { "\(directory)/\($0)" } }

    public func current() throws(SPIFFEError) -> X509Material {
        let fingerprint = paths.map(fileFingerprint)
        let previous = loaded.withLock { $0 }
        if let previous, previous.fingerprint == fingerprint { return previous.material }
        do {
            let material = try read(generation: (previous?.material.generation ?? 0) + 1)
            loaded.withLock { $0 = Loaded(fingerprint: fingerprint, material: material) }
            return material
        } catch {
            // Mid-rotation (one file new, another not yet): keep the last good SVID while it is valid.
            if let previous, previous.material.svid.notAfter > Date() { return previous.material }
            throw error
        }
    }

    private func read(generation: Int) throws(SPIFFEError) -> X509Material {
        let texts = try paths.map { path throws(SPIFFEError) -> String in
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw SPIFFEError("cannot read \(path): \(error.localizedDescription)")
            }
        }
        let svid = try X509SVID(chainPEM: texts[0], keyPEM: texts[1])
        let bundle = try TrustBundle(trustDomain: svid.id.trustDomain, pem: texts[2])
        return X509Material(svid: svid, bundle: bundle, generation: generation)
    }
}
