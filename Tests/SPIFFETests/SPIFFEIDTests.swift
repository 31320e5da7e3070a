import Foundation
@testable import SPIFFE
import Testing
import X509
import Crypto
import SwiftASN1

@Suite("SPIFFE IDs and X.509-SVIDs")
struct SPIFFEIDTests {
    @Test("valid IDs parse into trust domain and path", arguments: [
        ("spiffe://k8s.nsm/ns/default/pod/web-0", "k8s.nsm", "/ns/default/pod/web-0"),
        ("spiffe://example.org", "example.org", ""),
        ("spiffe://a_b-c.d/x.y/Z_9", "a_b-c.d", "/x.y/Z_9"),
    ])
    func valid(text: String, domain: String, path: String) throws {
        let id = try SPIFFEID(text)
        #expect(id.trustDomain == domain && id.path == path && id.description == text)
    }

    @Test("invalid IDs are refused saying what is wrong", arguments: [
        ("http://k8s.nsm/x", "must start with spiffe://"),
        ("spiffe://", "no trust domain"),
        ("spiffe://K8s.nsm/x", "trust domain may hold only"),
        ("spiffe://k8s.nsm:443/x", "no port"),
        ("spiffe://user@k8s.nsm/x", "trust domain may hold only"),
        ("spiffe://k8s.nsm/x/", "must not end with '/'"),
        ("spiffe://k8s.nsm//x", "empty path segment"),
        ("spiffe://k8s.nsm/./x", "'.' or '..'"),
        ("spiffe://k8s.nsm/x?y=1", "path segments may hold only"),
        ("spiffe://k8s.nsm/x#f", "path segments may hold only"),
    ])
    func invalid(text: String, message: String) {
        #expect { try SPIFFEID(text) } throws: { error in "\(error)".contains(message) }
    }

    @Test("upstream's pod identity")
    func pod() throws {
        #expect(try SPIFFEID.pod("web-0", namespace: "default", trustDomain: "k8s.nsm").description == "spiffe://k8s.nsm/ns/default/pod/web-0")
    }

    @Test("an issued SVID has one URI SAN and round-trips through PEM; certificates that are not SVIDs are refused")
    func svid() throws {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let id = try SPIFFEID("spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-0")
        let svid = try issuer.issue(id, validity: 3600)
        let (chain, key) = try svid.pem()
        let again = try X509SVID(chainPEM: chain, keyPEM: key)
        #expect(again.id == id && again.chain == svid.chain)
        #expect(try issuer.bundle.peerIdentity(leaf: svid.leaf) == id)

        let other = P256.Signing.PrivateKey()
        let twoURIs = try issuer.certificate(for: id, key: other, validity: 60, uris: [id.description, "spiffe://k8s.nsm/other"])
        #expect { try X509SVID(chain: [twoURIs], privateKey: .init(other)) } throws: { "\($0)".contains("exactly one URI SAN") && "\($0)".contains("has 2") }
        let none = try issuer.certificate(for: id, key: other, validity: 60, uris: [])
        #expect { try X509SVID(chain: [none], privateKey: .init(other)) } throws: { "\($0)".contains("has 0") }
        #expect { try X509SVID(chain: [svid.leaf], privateKey: .init(other)) } throws: { "\($0)".contains("does not belong") }
        let foreign = try SVIDIssuer(trustDomain: "other.org").issue(try SPIFFEID("spiffe://other.org/x"), validity: 60)
        #expect { try issuer.bundle.peerIdentity(leaf: foreign.leaf) } throws: { "\($0)".contains("not in trust domain k8s.nsm") }
    }

    @Test("DER as the Workload API sends it: concatenated certificates, PKCS#8 key")
    func der() throws {
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let svid = try issuer.issue(try SPIFFEID("spiffe://k8s.nsm/a"), validity: 60)
        let chainDER = try (svid.chain + [issuer.authority]).flatMap { try $0.derBytes() }
        let keyDER = Array(try svid.privateKey.serializeAsPEM().derBytes)
        let parsed = try X509SVID(chainDER: chainDER, keyDER: keyDER)
        #expect(parsed.chain.count == 2 && parsed.id == svid.id)
        #expect { try X509SVID(chainDER: [0x30, 0x03, 0x02, 0x01], keyDER: keyDER) } throws: { "\($0)".contains("not a DER certificate") }
    }
}

@Suite("SVID files")
struct SVIDFilesTests {
    func write(_ svid: X509SVID, bundle: TrustBundle, to directory: String, layout: SVIDFiles.Layout) throws {
        let (chain, key) = try svid.pem()
        try chain.write(toFile: "\(directory)/\(layout.certificate)", atomically: true, encoding: .utf8)
        try key.write(toFile: "\(directory)/\(layout.key)", atomically: true, encoding: .utf8)
        try bundle.pem().write(toFile: "\(directory)/\(layout.bundle)", atomically: true, encoding: .utf8)
    }

    @Test("either layout is found; a rewrite is picked up with a new generation; a torn rewrite keeps the last good SVID", arguments: [SVIDFiles.Layout.spiffeHelper, .csiDriver])
    func files(layout: SVIDFiles.Layout) throws {
        let directory = NSTemporaryDirectory() + "svid-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let issuer = try SVIDIssuer(trustDomain: "k8s.nsm")
        let id = try SPIFFEID("spiffe://k8s.nsm/ns/a/pod/b")
        try write(try issuer.issue(id, validity: 3600), bundle: issuer.bundle, to: directory, layout: layout)
        let files = try SVIDFiles(directory: directory)
        #expect(files.layout == layout)
        let first = try files.current()
        #expect(first.svid.id == id && first.generation == 1)
        #expect(try files.current().generation == 1, "unchanged files are not read again")
        let rotated = try issuer.issue(id, validity: 3600)
        try write(rotated, bundle: issuer.bundle, to: directory, layout: layout)
        let second = try files.current()
        #expect(second.generation == 2 && second.svid.leaf == rotated.leaf)
        try "garbage".write(toFile: "\(directory)/\(layout.key)", atomically: true, encoding: .utf8)
        #expect(try files.current().svid.leaf == rotated.leaf)
    }

    @Test("a directory without either layout is refused naming both")
    func empty() {
        #expect { try SVIDFiles(directory: NSTemporaryDirectory()) } throws: { "\($0)".contains("svid.pem") && "\($0)".contains("tls.crt") }
    }
}
