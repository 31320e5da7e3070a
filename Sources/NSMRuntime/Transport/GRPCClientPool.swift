import GRPCCore
import LeanGRPC
public import NSMCore
public import ServiceLifecycle
public import SPIFFE
import Synchronization

/// The process's ``GRPCPeer``s, one per URL, created on first use and shared by everything in
/// the process; their grpc-swift clients' connections (registry calls) run in this service's
/// `run()` (so no task is started outside the service tree).
///
/// A pool may speak for a network namespace other than its process's (a pod of the local mesh
/// whose client runs in `nsm run`, the demo or the benchmark): its Request and Close connections
/// to unix sockets then pass that namespace's descriptor with their first byte, as upstream's
/// grpcfd does, and the manager lets them name it.
public final class GRPCClientPool: Service, Sendable {
    private struct State {
        var peers: [NSMURL: GRPCPeer] = [:]
        var shutDown = false
    }
    private let state = Mutex(State())
    private let newClients: AsyncStream<GRPCPeer.StreamClient>
    private let newClientsContinuation: AsyncStream<GRPCPeer.StreamClient>.Continuation
    /// The namespace file (`/run/netns/<name>`) passed on unix connections, if any.
    public let passingNamespace: String?
    /// This process's SPIFFE identity: mutual TLS to every peer (and, by the components that take
    /// this pool, on their own servers); `nil` for plaintext.
    public let identity: (any X509Source)?

    public init(passingNamespace: String? = nil, identity: (any X509Source)?) {
        self.passingNamespace = passingNamespace
        self.identity = identity
        (newClients, newClientsContinuation) = AsyncStream.makeStream(of: GRPCPeer.StreamClient.self)
    }

    /// The peer for `url`, created (and its connections handed to `run()`) on first use.
    public func peer(for url: NSMURL) throws -> GRPCPeer {
        try state.withLock { state in
            if let peer = state.peers[url] { return peer }
            guard !state.shutDown else { throw NSMError.unavailable("the client pool is shut down") }
            let clients = newClientsContinuation
            let peer = GRPCPeer(url: url, passingNamespace: passingNamespace, identity: identity) { client in
                if case .enqueued = clients.yield(client) { return true }
                return false
            }
            state.peers[url] = peer
            return peer
        }
    }

    /// Opens the connection to `url` that Requests will use (the TLS handshake included), so a
    /// caller can time a connection apart from the calls on it.
    public func connect(to url: NSMURL) async throws {
        let peer = try peer(for: url)
        try peer.checkAlive()
        _ = try await peer.unaryClient.serverIdentity()
    }

    /// Forgets the peer at `url` (its server went away) and shuts its clients down.
    public func discard(_ url: NSMURL) {
        state.withLock { $0.peers.removeValue(forKey: url) }?.shutDown()
    }

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
        let peers = state.withLock { state -> [GRPCPeer] in
            defer { state.peers = [:]; state.shutDown = true }
            return Array(state.peers.values)
        }
        newClientsContinuation.finish()
        for peer in peers { peer.shutDown() }
    }
}
