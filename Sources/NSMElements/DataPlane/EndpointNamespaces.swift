import NSMCore
import Synchronization

/// Local endpoints' namespaces as they last answered, by URL.
final class EndpointNamespaces: Sendable {
    private let byURL = Mutex<[NSMURL: String]>([:])

    subscript(url: NSMURL) -> String? {
        get { byURL.withLock { $0[url] } }
        set { byURL.withLock { $0[url] = newValue } }
    }
}
