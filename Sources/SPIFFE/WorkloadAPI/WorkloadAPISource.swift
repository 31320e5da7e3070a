import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Readiness
public import ServiceLifecycle
import Synchronization

/// This process's SVID and bundle from the SPIFFE Workload API (`SPIFFE_ENDPOINT_SOCKET`, a
/// SPIRE agent's unix socket): `run()` keeps a `FetchX509SVID` stream open and takes each
/// message as the current material (the first SVID of the message); a broken stream is opened
/// again with back-off (200 ms to 5 s), the last SVID staying in use meanwhile.
public final class WorkloadAPISource: X509Source, Service {
    public let socketPath: String
    private struct State {
        var material: X509Material?
        var lastError: String?
    }
    private let state = Mutex(State())
    private let first = ReadySignal<Void>()

    /// `endpoint`: `unix:///path` (SPIFFE_ENDPOINT_SOCKET's form) or a bare path.
    public init(endpoint: String) throws(SPIFFEError) {
        let path = endpoint.hasPrefix("unix://") ? String(endpoint.dropFirst("unix://".count)) : endpoint
        guard path.hasPrefix("/") else {
            throw SPIFFEError("SPIFFE_ENDPOINT_SOCKET \"\(endpoint.prefix(80))\" is not a unix socket: expected unix:///absolute/path")
        }
        socketPath = path
    }

    public func current() throws(SPIFFEError) -> X509Material {
        let (material, lastError) = state.withLock { ($0.material, $0.lastError) }
        guard let material else {
            throw SPIFFEError("no SVID from the Workload API at \(socketPath) yet\(lastError.map { " (\($0))" } ?? "")")
        }
        return material
    }

    /// Waits for the first SVID; throws when the waiting task is cancelled.
    public func ready() async throws { try await first.wait() }

    /// Fetches the first SVID now (one stream, closed after its first message), so a process can
    /// have its identity before it starts anything that serves or calls; `run()` then follows.
    public func prime(timeout: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow(firstOnly: true) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SPIFFEError("no SVID from the Workload API at \(self.socketPath) within \(timeout)\(self.state.withLock { $0.lastError }.map { ": \($0)" } ?? "")")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    public func run() async throws {
        // Ends with the process's other services (in a ServiceGroup), or when cancelled.
        try await cancelWhenGracefulShutdown { await self.follow() }
    }

    /// `FetchX509SVID` streams one after another, with back-off between them; with `firstOnly`,
    /// until one delivered an SVID.
    private func follow(firstOnly: Bool = false) async {
        var pause: Duration = .milliseconds(200)
        while !Task.isCancelled {
            let before = state.withLock { $0.material?.generation }
            do {
                try await fetch(firstOnly: firstOnly)
                if firstOnly { return }
            } catch where Task.isCancelled {
                return
            } catch {
                state.withLock { $0.lastError = "\(error)" }
            }
            // A stream that delivered something starts the back-off over.
            if state.withLock({ $0.material?.generation }) != before { pause = .milliseconds(200) }
            guard (try? await Task.sleep(for: pause)) != nil else { return }
            pause = min(pause * 2, .seconds(5))
        }
    }

    private func fetch(firstOnly: Bool = false) async throws {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        let client = GRPCClient(transport: transport)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await client.runConnections() }
            defer { client.beginGracefulShutdown() }
            let request = ClientRequest(message: WorkloadAPI_X509SVIDRequest(), metadata: [WorkloadAPIService.securityHeader: "true"])
            try await WorkloadAPI_SpiffeWorkloadAPI.Client(wrapping: client).fetchX509SVID(request: request) { response in
                for try await message in response.messages {
                    try self.take(message)
                    if firstOnly { return }
                }
            }
            if firstOnly, state.withLock({ $0.material != nil }) { return }
            throw SPIFFEError("the Workload API at \(socketPath) ended the stream")
        }
    }

    private func take(_ message: WorkloadAPI_X509SVIDResponse) throws {
        guard let first = message.svids.first else { throw SPIFFEError("the Workload API sent a message without an SVID") }
        let svid = try X509SVID(chainDER: Array(first.x509Svid), keyDER: Array(first.x509SvidKey))
        let bundle = try TrustBundle(trustDomain: svid.id.trustDomain, der: Array(first.bundle))
        state.withLock { state in
            // The same SVID again (a new stream, or the agent restarted) is not a rotation.
            if let held = state.material, held.svid.leaf == svid.leaf, held.bundle.authorities == bundle.authorities {
                state.lastError = nil
                return
            }
            state.material = X509Material(svid: svid, bundle: bundle, generation: (state.material?.generation ?? 0) + 1)
            state.lastError = nil
        }
        self.first.resolve()
    }
}
