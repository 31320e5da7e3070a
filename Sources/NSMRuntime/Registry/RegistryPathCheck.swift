import GRPCCore
import NSMCore
import NSMElements
import SPIFFE

/// A registry server's side of upstream's registry path: the caller's `path` metadata is read,
/// its token checked as a Request's are (``PathTokenElement``: signed by the certificate the
/// caller presented, for this hop, unexpired; the chain before it), and continued by this hop's
/// segment (a token for the caller). Calls without mutual TLS, or without `path`, pass unchanged.
struct RegistryPathCheck: Sendable {
    let identity: (any X509Source)?
    let tokens: PathTokenElement?

    init(identity: (any X509Source)?) {
        self.identity = identity
        tokens = identity.map { PathTokenElement(identity: $0) }
    }

    /// The caller's path, checked and continued by this hop; `nil` when there is none to take.
    func take(_ metadata: Metadata, caller: Caller) throws -> RegistryPath? {
        guard let identity, let tokens, let callerID = caller.spiffeID else { return nil }
        let texts = Array(metadata[stringValues: RegistryPath.metadataKey])
        guard let text = texts.first else { return nil }
        guard texts.count == 1 else { throw NSMError.invalidArgument("metadata \(RegistryPath.metadataKey) came \(texts.count) times; once is accepted") }
        let path = try RegistryPath(metadata: text)
        try tokens.check(path.connectionPath, caller: caller)
        let material = try identity.current()
        let own = try PathToken(subject: material.svid.id.description, audience: [callerID], expires: material.svid.notAfter).signed(with: material.svid)
        return path.continued(with: own)
    }

    /// Runs `body` as the call `path` came with (a proxying hop continues it), answering with it.
    func serve<Message: Sendable>(_ path: RegistryPath?, _ body: () async throws -> Message) async throws -> ServerResponse<Message> {
        let message = try await RegistryPath.$served.withValue(path) { try await body() }
        guard let path else { return ServerResponse(message: message) }
        return ServerResponse(message: message, metadata: [RegistryPath.metadataKey: .string(path.encoded)])
    }
}
