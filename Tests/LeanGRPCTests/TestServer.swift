import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LeanGRPC
import NSMAPI
import SwiftProtobuf
import Synchronization

/// The ids of the `sleep:` requests the echo service has started on: a test waits for its slow
/// call to be in flight here, instead of sleeping and hoping.
let echoArrivals = EchoArrivals()

final class EchoArrivals: Sendable {
    private let ids = Mutex<Set<String>>([])
    func record(_ id: String) { _ = ids.withLock { $0.insert(id) } }

    /// Waits until the server has started on `id`, for up to 5 s.
    func wait(for id: String) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !ids.withLock({ $0.contains(id) }) {
            guard ContinuousClock.now < deadline else { throw RPCError(code: .deadlineExceeded, message: "\(id) never reached the server") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// A NetworkService served by grpc-swift (the general implementation) for the lean client to
/// call. Request echoes the connection id with "-echo" and fills labels as the id asks:
/// `fail:<code>:<message>` throws that status, `sleep:<ms>` waits first, `big:<bytes>` answers
/// with a label of that size.
struct EchoService: Networkservice_NetworkService.SimpleServiceProtocol {
    func request(request: Networkservice_NetworkServiceRequest, context: ServerContext) async throws -> Connection_Connection {
        let id = request.connection.id
        let parts = id.split(separator: ":", maxSplits: 2).map(String.init)
        var connection = request.connection
        connection.id = id + "-echo"
        switch parts.first {
        case "fail":
            let code = RPCError.Code(Status.Code(rawValue: Int(parts[1]) ?? 2) ?? .unknown) ?? .unknown
            throw RPCError(code: code, message: parts.count > 2 ? parts[2] : "")
        case "sleep":
            echoArrivals.record(id)
            try await Task.sleep(for: .milliseconds(Int(parts[1]) ?? 0))
        case "big":
            connection.labels["big"] = String(repeating: "x", count: Int(parts[1]) ?? 0)
        case "caller":
            if let credentials = ServerCaller.current?.unix {
                connection.labels["pid"] = "\(credentials.pid)"
                connection.labels["uid"] = "\(credentials.uid)"
                connection.labels["netns"] = credentials.networkNamespace?.description ?? "unreadable"
                connection.labels["passed"] = credentials.passedNetworkNamespaces.map(\.description).joined(separator: ",")
            } else if let current = ServerCaller.current {
                connection.labels["network"] = current.address
            } else {
                connection.labels["none"] = "true"
            }
            connection.labels["identity"] = ServerCaller.current?.identity ?? ""
        default:
            break
        }
        return connection
    }

    func close(request: Connection_Connection, context: ServerContext) async throws -> Google_Protobuf_Empty {
        Google_Protobuf_Empty()
    }
}

/// How streams of ``EventsService`` ended on the server: "<id> cancelled" or "<id> done".
let streamEndings = EchoArrivals()

/// A server-streaming MonitorConnections served by grpc-swift, steered by the first path
/// segment's id: `count:<n>:<bytes>` sends n events (ids e0…, a label of that size) and ends OK;
/// `fail:<n>:<code>` sends n events, then fails with that status; `forever:<id>` sends an event
/// every 20 ms until a write fails (the client reset the stream or went), recording that.
struct EventsService: Connection_MonitorConnection.SimpleServiceProtocol {
    func monitorConnections(request: Connection_MonitorScopeSelector, response: RPCWriter<Connection_ConnectionEvent>, context: ServerContext) async throws {
        let parts = (request.pathSegments.first?.id ?? "").split(separator: ":").map(String.init)
        func event(_ index: Int, size: Int = 0) -> Connection_ConnectionEvent {
            var event = Connection_ConnectionEvent()
            var connection = Connection_Connection()
            connection.id = "e\(index)"
            if size > 0 { connection.labels["big"] = String(repeating: "x", count: size) }
            event.connections[connection.id] = connection
            return event
        }
        switch parts.first {
        case "count":
            for index in 0..<(Int(parts[1]) ?? 0) { try await response.write(event(index, size: Int(parts[2]) ?? 0)) }
        case "fail":
            for index in 0..<(Int(parts[1]) ?? 0) { try await response.write(event(index)) }
            throw RPCError(code: RPCError.Code(Status.Code(rawValue: Int(parts[2]) ?? 2) ?? .unknown) ?? .unknown, message: "failed after \(parts[1])")
        case "forever":
            do {
                for index in 0... {
                    try await response.write(event(index))
                    try await Task.sleep(for: .milliseconds(20))
                }
            } catch {
                streamEndings.record("\(parts[1]) cancelled")
                throw error
            }
        default:
            break
        }
    }
}

/// Runs a grpc-swift server on `address` around `body`.
func withEchoServer<T: Sendable>(
    _ address: GRPCNIOTransportCore.SocketAddress, maxConcurrentStreams: Int = 16_384,
    _ body: @Sendable (GRPCNIOTransportCore.SocketAddress) async throws -> T
) async throws -> T {
    var config = HTTP2ServerTransport.Posix.Config.defaults
    config.http2.maxConcurrentStreams = maxConcurrentStreams
    let server = GRPCServer(transport: HTTP2ServerTransport.Posix(address: address, transportSecurity: .plaintext, config: config), services: [EchoService(), EventsService()])
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        guard let bound = try await server.listeningAddress else { throw RPCError(code: .internalError, message: "server did not bind") }
        let result = try await body(bound)
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// A grpc-swift echo server on a fresh unix socket and a lean client for it, around `body`.
func withEchoClient(
    maxConcurrentStreams: Int = 16_384, maximumResponseBytes: Int = 4 << 20, _ body: @Sendable (LeanGRPCClient) async throws -> Void
) async throws {
    let path = temporarySocketPath()
    defer { unlink(path) }
    try await withEchoServer(.unixDomainSocket(path: path), maxConcurrentStreams: maxConcurrentStreams) { _ in
        let client = LeanGRPCClient(target: .unixDomainSocket(path: path), maximumResponseBytes: maximumResponseBytes)
        defer { client.shutDown() }
        try await body(client)
    }
}

func temporarySocketPath() -> String {
    "/tmp/grpcunary-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
}

let requestPath = "/networkservice.NetworkService/Request"

func request(_ id: String) -> Networkservice_NetworkServiceRequest {
    var request = Networkservice_NetworkServiceRequest()
    request.connection.id = id
    request.connection.networkService = "svc"
    return request
}
