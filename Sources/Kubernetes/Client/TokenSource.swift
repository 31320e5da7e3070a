import Foundation
import Synchronization

/// The bearer token to send: fixed, or read from a file again once a minute (a service
/// account's projected token rotates; client-go re-reads it on the same schedule).
final class TokenSource: Sendable {
    private let credentials: KubernetesConnection.Credentials
    private let cached = Mutex<(token: String, read: ContinuousClock.Instant)?>(nil)

    init(_ credentials: KubernetesConnection.Credentials) { self.credentials = credentials }

    func token() throws -> String? {
        switch credentials {
        case .token(let token): return token
        case .tokenFile(let path):
            if let (token, read) = cached.withLock({ $0 }), ContinuousClock.now - read < .seconds(60) { return token }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KubernetesConfigurationError("the token file \(path) cannot be read")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            cached.withLock { $0 = (token, .now) }
            return token
        case .none, .clientCertificate: return nil
        }
    }
}
