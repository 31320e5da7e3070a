/// A SPIFFE ID, `spiffe://<trust domain>/<path>`, validated as the SPIFFE specification says:
/// the trust domain lower-case letters, digits, `.`, `-`, `_`; path segments letters, digits,
/// `.`, `-`, `_`, none empty, `.` or `..`; no trailing `/`, query, fragment, port or user info.
public struct SPIFFEID: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let trustDomain: String
    /// `/ns/default/pod/web-0`, or empty for the trust domain's own ID.
    public let path: String

    public static let maximumLength = 2048

    public init(_ text: String) throws(SPIFFEError) {
        let quoted = "\"\(text.prefix(80))\(text.count > 80 ? "…" : "")\""
        guard text.utf8.count <= Self.maximumLength else { throw SPIFFEError("SPIFFE ID \(quoted) is longer than \(Self.maximumLength) bytes") }
        guard text.hasPrefix("spiffe://") else { throw SPIFFEError("SPIFFE ID \(quoted) must start with spiffe://") }
        let rest = text.dropFirst("spiffe://".count)
        let domain = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(domain.count)
        guard !domain.isEmpty else { throw SPIFFEError("SPIFFE ID \(quoted) has no trust domain") }
        guard domain.allSatisfy(Self.isTrustDomainCharacter) else {
            throw SPIFFEError("SPIFFE ID \(quoted): the trust domain may hold only lower-case letters, digits, '.', '-' and '_' (no port, user info, query or fragment)")
        }
        if !path.isEmpty {
            guard !path.hasSuffix("/") else { throw SPIFFEError("SPIFFE ID \(quoted) must not end with '/'") }
            for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                guard !segment.isEmpty else { throw SPIFFEError("SPIFFE ID \(quoted) has an empty path segment") }
                guard segment != ".", segment != ".." else { throw SPIFFEError("SPIFFE ID \(quoted) has a '.' or '..' path segment") }
                guard segment.allSatisfy(Self.isPathCharacter) else {
                    throw SPIFFEError("SPIFFE ID \(quoted): path segments may hold only letters, digits, '.', '-' and '_'")
                }
            }
        }
        trustDomain = String(domain)
        self.path = String(path)
    }

    /// The ID of `path` (`/ns/x/pod/y`) in `trustDomain`.
    public init(trustDomain: String, path: String) throws(SPIFFEError) {
        try self.init("spiffe://\(trustDomain)\(path)")
    }

    /// upstream NSM's pod identity: `spiffe://<trust domain>/ns/<namespace>/pod/<name>`.
    public static func pod(_ name: String, namespace: String, trustDomain: String) throws(SPIFFEError) -> SPIFFEID {
        try SPIFFEID(trustDomain: trustDomain, path: "/ns/\(namespace)/pod/\(name)")
    }

    public var description: String { "spiffe://\(trustDomain)\(path)" }

    public static func < (lhs: SPIFFEID, rhs: SPIFFEID) -> Bool { lhs.description < rhs.description }

    static func isTrustDomainCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLowercase || character.isNumber || character == "." || character == "-" || character == "_")
    }

    static func isPathCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "." || character == "-" || character == "_")
    }
}

/// A SPIFFE identity, credential or bundle that is not acceptable, with what is.
public struct SPIFFEError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
