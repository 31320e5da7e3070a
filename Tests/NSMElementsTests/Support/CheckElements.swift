import NSMAPI
import NSMCore
import Synchronization

/// A chain element that hands the request it sees to a closure (assertions) and answers
/// with it, like upstream's checkrequest.
struct CheckRequestElement: NetworkServiceElement {
    let check: @Sendable (Networkservice_NetworkServiceRequest) throws -> Void

    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        try check(request)
        return try await next.request(request, context: context)
    }
}

/// Counts Requests and Closes that reach it; fails the first `failures` requests.
final class CountingElement: NetworkServiceElement {
    private let counts = Mutex<(requests: Int, closes: Int, failuresLeft: Int)>((0, 0, 0))

    init(failures: Int = 0) { counts.withLock { $0.failuresLeft = failures } }

    var requests: Int { counts.withLock { $0.requests } }
    var closes: Int { counts.withLock { $0.closes } }

    struct Injected: Error {}

    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        let fail = counts.withLock { state -> Bool in
            state.requests += 1
            if state.failuresLeft > 0 { state.failuresLeft -= 1; return true }
            return false
        }
        if fail { throw Injected() }
        return try await next.request(request, context: context)
    }

    func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        counts.withLock { $0.closes += 1 }
        try await next.close(connection, context: context)
    }
}

func request(id: String = "conn-1", service: String = "svc", path: [Connection_PathSegment] = [], index: UInt32 = 0) -> Networkservice_NetworkServiceRequest {
    var connection = Connection_Connection()
    connection.id = id
    connection.networkService = service
    connection.path.pathSegments = path
    connection.path.index = index
    return Networkservice_NetworkServiceRequest(connection: connection, preferences: [.kernel(interfaceName: "nsm-1")])
}
