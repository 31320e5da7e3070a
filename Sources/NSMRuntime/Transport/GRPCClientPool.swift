import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import LeanGRPC
public import NSMCore
public import ServiceLifecycle
import Synchronization

/// gRPC clients by URL, shared by everything in a process, and run by this service's `run()`
/// (so no task is started outside the service tree). Clients are created on first use.
public final class GRPCClientPool: Service, Sendable {
    public typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    private struct State {
        var clients: [NSMURL: Client] = [:]
        /// Lean clients for the request path's unary calls (their own connection to the URL).
        var unaryClients: [NSMURL: GRPCUnaryClient] = [:]
        var started = false
        /// URLs known to answer; unknown or suspect ones get a liveness probe before use.
        var trusted: Set<NSMURL> = []
        var shutDown = false
    }
    private let state = Mutex(State())
    private let newClients: AsyncStream<Client>
    private let newClientsContinuation: AsyncStream<Client>.Continuation

    public init() {
        (newClients, newClientsContinuation) = AsyncStream.makeStream(of: Client.self)
    }

    /// The client for `url`, created (and handed to `run()`) on first use.
    public func client(for url: NSMURL) throws -> Client {
        try state.withLock { state in
            if let client = state.clients[url] { return client }
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.backoff.initial = .milliseconds(50)
            config.backoff.max = .milliseconds(500)
            config.connection.maxIdleTime = nil
            let transport = try HTTP2ClientTransport.Posix(
                target: url.clientTarget, transportSecurity: .plaintext, config: config)
            let client = GRPCClient(transport: transport)
            state.clients[url] = client
            newClientsContinuation.yield(client)
            return client
        }
    }

    /// The unary client for `url` (Request and Close on the request path), created on first use.
    public func unaryClient(for url: NSMURL) throws -> GRPCUnaryClient {
        try state.withLock { state in
            if let client = state.unaryClients[url] { return client }
            guard !state.shutDown else { throw NSMError.unavailable("the client pool is shut down") }
            let client = GRPCUnaryClient(target: url.grpcAddress)
            state.unaryClients[url] = client
            return client
        }
    }

    /// Forgets the clients for `url` (e.g. after its server went away) and shuts them down.
    public func discard(_ url: NSMURL) {
        let (client, unary) = state.withLock { state -> (Client?, GRPCUnaryClient?) in
            state.trusted.remove(url)
            return (state.clients.removeValue(forKey: url), state.unaryClients.removeValue(forKey: url))
        }
        client?.beginGracefulShutdown()
        unary?.shutDown()
    }

    /// Whether `url` answered a liveness probe and nothing since suggested it went away.
    public func isTrusted(_ url: NSMURL) -> Bool { state.withLock { $0.trusted.contains(url) } }

    /// Records that `url` answered.
    public func trust(_ url: NSMURL) { _ = state.withLock { $0.trusted.insert(url) } }

    /// Records that `url` may have gone away (a stream to it broke): probe it before the next use.
    public func suspect(_ url: NSMURL) { _ = state.withLock { $0.trusted.remove(url) } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Returns at graceful shutdown, throws at cancellation: either way, stop.
                try? await gracefulShutdown()
                self.shutdownAll()
            }
            for await client in newClients {
                group.addTask { try? await client.runConnections() }
            }
        }
    }

    private func shutdownAll() {
        let (clients, unary) = state.withLock { state -> ([Client], [GRPCUnaryClient]) in
            let clients = (Array(state.clients.values), Array(state.unaryClients.values))
            state.clients = [:]
            state.unaryClients = [:]
            state.shutDown = true
            return clients
        }
        for client in clients { client.beginGracefulShutdown() }
        for client in unary { client.shutDown() }
        newClientsContinuation.finish()
    }
}
