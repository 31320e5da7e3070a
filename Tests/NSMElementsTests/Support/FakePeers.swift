import NSMAPI
import NSMCore
import NSMElements
import Synchronization

/// A stand-in for the transport (this is a unit test of elements, not of gRPC): each URL's
/// peer answers Request with the request's connection, records calls, and serves a monitor
/// stream fed by the test.
final class FakeDialer: NetworkServiceDialer {
    struct Call: Equatable { var url: NSMURL; var method: String; var id: String }

    let calls = Mutex<[Call]>([])
    let suspected = Mutex<[NSMURL]>([])
    let failing = Mutex<Set<NSMURL>>([])
    private let streams = Mutex<[NSMURL: [Int: AsyncStream<Connection_ConnectionEvent>.Continuation]]>([:])
    private let counter = Mutex(0)

    func peer(for url: NSMURL) async throws -> any NetworkServicePeer { FakePeer(url: url, dialer: self) }

    /// Sends `event` on every monitor stream open to `url`.
    func emit(_ event: Connection_ConnectionEvent, at url: NSMURL) {
        for stream in streams.withLock({ $0[url]?.values.map { $0 } ?? [] }) { stream.yield(event) }
    }

    /// Ends every monitor stream open to `url` (the peer went away).
    func endStreams(at url: NSMURL) {
        for stream in streams.withLock({ $0.removeValue(forKey: url)?.values.map { $0 } ?? [] }) { stream.finish() }
    }

    var openStreams: Int { streams.withLock { $0.values.map(\.count).reduce(0, +) } }

    fileprivate func open(_ url: NSMURL) -> (id: Int, events: AsyncStream<Connection_ConnectionEvent>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Connection_ConnectionEvent.self)
        let id = counter.withLock { $0 += 1; return $0 }
        streams.withLock { $0[url, default: [:]][id] = continuation }
        return (id, stream)
    }

    /// The subscriber went away: the stream no longer counts as open.
    fileprivate func closed(_ id: Int, at url: NSMURL) {
        _ = streams.withLock { $0[url]?.removeValue(forKey: id) }
    }
}

struct FakePeer: NetworkServicePeer {
    let url: NSMURL
    let dialer: FakeDialer

    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection {
        dialer.calls.withLock { $0.append(.init(url: url, method: "request", id: request.connection.id)) }
        if dialer.failing.withLock({ $0.contains(url) }) { throw NSMError.unavailable("\(url) is down") }
        return request.connection
    }

    func close(_ connection: Connection_Connection) async throws {
        dialer.calls.withLock { $0.append(.init(url: url, method: "close", id: connection.id)) }
    }

    func monitorConnections(
        _ selector: Connection_MonitorScopeSelector, _ body: @escaping @Sendable (Connection_ConnectionEvent) async throws -> Void
    ) async throws {
        let (id, events) = dialer.open(url)
        defer { dialer.closed(id, at: url) }
        for await event in events { try await body(event) }
    }

    func suspect() { dialer.suspected.withLock { $0.append(url) } }
}

func endpoint(_ name: String, url: String) -> Registry_NetworkServiceEndpoint {
    var endpoint = Registry_NetworkServiceEndpoint()
    endpoint.name = name
    endpoint.url = url
    return endpoint
}

/// Puts fixed candidates in the context, as ``DiscoverElement`` does.
struct CandidatesElement: NetworkServiceElement {
    let candidates: [Registry_NetworkServiceEndpoint]
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        var context = context
        context.values[DiscoverElement.Candidates.self] = candidates
        return try await next.request(request, context: context)
    }
}

/// Fails requests whose next hop is in `refusing` with `error`.
struct RefusingElement: NetworkServiceElement {
    let refusing: Set<NSMURL>
    let error: NSMError
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        if let url = context.nextHop, refusing.contains(url) { throw error }
        return try await next.request(request, context: context)
    }
}
