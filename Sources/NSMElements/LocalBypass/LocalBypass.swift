public import NSMAPI
public import NSMCore
import Synchronization

/// The manager's table of endpoints and forwarders registered through it: their real local
/// URL by name. Upstream calls the element that uses it "localbypass".
public final class LocalBypass: Sendable {
    private let table = Mutex<[String: String]>([:])

    public init() {}

    public func record(name: String, url: String) { table.withLock { $0[name] = url } }
    public func remove(name: String) { table.withLock { _ = $0.removeValue(forKey: name) } }
    public func localURL(for name: String) -> String? { table.withLock { $0[name] } }

    /// Replaces the URL of endpoints that are local (published with `publicURL`) by their local one.
    public func rewrite(_ endpoint: Registry_NetworkServiceEndpoint, publicURL: String) -> Registry_NetworkServiceEndpoint {
        guard endpoint.url == publicURL, let local = localURL(for: endpoint.name) else { return endpoint }
        var endpoint = endpoint
        endpoint.url = local
        return endpoint
    }
}
