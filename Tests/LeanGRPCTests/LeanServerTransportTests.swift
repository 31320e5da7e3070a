import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
@testable import LeanGRPC
import NSMAPI
import Synchronization
import Testing

/// Streams events: `count` of them with `padding` bytes each (selector path segment name
/// `"<count>:<padding>"`), or, with name `"forever"`, until the RPC is cancelled.
final class StreamingService: Connection_MonitorConnection.SimpleServiceProtocol {
    let endedForever = Mutex(false)

    func monitorConnections(
        request: Connection_MonitorScopeSelector, response: RPCWriter<Connection_ConnectionEvent>, context: ServerContext
    ) async throws {
        let name = request.pathSegments.first?.name ?? ""
        if name == "forever" {
            defer { endedForever.withLock { $0 = true } }
            var index = 0
            while !context.cancellation.isCancelled, !Task.isCancelled {
                try await response.write(event(index, padding: 10))
                index += 1
                try await Task.sleep(for: .milliseconds(10))
            }
            return
        }
        let parts = name.split(separator: ":").compactMap { Int($0) }
        for index in 0..<(parts.first ?? 0) { try await response.write(event(index, padding: parts.count > 1 ? parts[1] : 0)) }
    }

    func event(_ index: Int, padding: Int) -> Connection_ConnectionEvent {
        var event = Connection_ConnectionEvent()
        var connection = Connection_Connection()
        connection.id = "e\(index)"
        connection.labels["pad"] = String(repeating: "p", count: padding)
        event.connections = [connection.id: connection]
        return event
    }
}

/// Runs a `GRPCServer` on the lean transport around `body`; returns after the server stopped.
func withLeanServer<T: Sendable>(
    _ address: GRPCAddress, streaming: StreamingService = StreamingService(),
    _ body: @Sendable (GRPCAddress, GRPCServer<LeanServerTransport>) async throws -> T
) async throws -> T {
    let transport = LeanServerTransport(address: address)
    let server = GRPCServer(transport: transport, services: [EchoService(), streaming])
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        let result = try await body(try await transport.listeningAddress, server)
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// A grpc-swift client (the general implementation) for `address`, run around `body`.
func withStockClient<T: Sendable>(
    _ address: GRPCAddress, _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
    let target: any ResolvableTarget = switch address {
    case .unixDomainSocket(let path): .unixDomainSocket(path: path)
    case .tcp(let host, let port): .ipv4(host: host, port: port)
    }
    let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        return try await body(client)
    }
}

/// A monitor selector of one path segment, by its name and id.
func selector(_ name: String, id: String = "") -> Connection_MonitorScopeSelector {
    var selector = Connection_MonitorScopeSelector()
    var segment = Connection_PathSegment()
    segment.name = name
    segment.id = id
    selector.pathSegments = [segment]
    return selector
}

@Suite("Lean server transport under grpc-swift's server", .serialized)
struct LeanServerTransportTests {
    @Test("unary calls from grpc-swift's client and from the lean client, over a unix socket and TCP (port 0 reported)")
    func unary() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        try await withLeanServer(.unixDomainSocket(path: path)) { address, _ in
            #expect(address == .unixDomainSocket(path: path))
            try await withStockClient(address) { client in
                let response = try await Networkservice_NetworkService.Client(wrapping: client).request(request("s1"))
                #expect(response.id == "s1-echo")
            }
            let lean = LeanGRPCClient(target: .unixDomainSocket(path: path))
            defer { lean.shutDown() }
            let l1 = try await lean.call(requestPath, request("l1"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(l1.id == "l1-echo")
        }
        try await withLeanServer(.tcp(host: "127.0.0.1", port: 0)) { address, _ in
            guard case .tcp(_, let port) = address else { Issue.record("not TCP: \(address)"); return }
            #expect(port > 0)
            let lean = LeanGRPCClient(target: .tcp(host: "127.0.0.1", port: port))
            defer { lean.shutDown() }
            let t1 = try await lean.call(requestPath, request("t1"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(t1.id == "t1-echo")
        }
    }

    @Test("errors keep code and message (percent-encoded on the wire); unknown methods and paths are unimplemented")
    func errors() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        try await withLeanServer(.unixDomainSocket(path: path)) { address, _ in
            try await withStockClient(address) { client in
                let error = await #expect(throws: RPCError.self) {
                    try await Networkservice_NetworkService.Client(wrapping: client).request(request("fail:9:no endpoint for 100% ü"))
                }
                #expect(error?.code == .failedPrecondition && error?.message == "no endpoint for 100% ü")
            }
            let lean = LeanGRPCClient(target: .unixDomainSocket(path: path))
            defer { lean.shutDown() }
            for path in ["/networkservice.NetworkService/Nope", "/no-method"] {
                let error = await #expect(throws: RPCError.self) {
                    try await lean.call(path, request("u"), as: Connection_Connection.self, timeout: .seconds(5))
                }
                #expect(error?.code == .unimplemented, "\(path)")
            }
        }
    }

    @Test("a server stream of 2 MB arrives whole and in order (outbound flow control); 12 × 1 MB requests arrive (inbound)")
    func flowControl() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        try await withLeanServer(.unixDomainSocket(path: path)) { address, _ in
            try await withStockClient(address) { client in
                let ids = try await Connection_MonitorConnection.Client(wrapping: client).monitorConnections(selector("200:10000")) { response in
                    var ids: [String] = []
                    for try await event in response.messages { ids += event.connections.keys }
                    return ids
                }
                #expect(ids == (0..<200).map { "e\($0)" })
            }
            let lean = LeanGRPCClient(target: .unixDomainSocket(path: path))
            defer { lean.shutDown() }
            for round in 0..<12 {
                var big = request("r\(round)")
                big.connection.labels["big"] = String(repeating: "b", count: 1_000_000)
                let response = try await lean.call(requestPath, big, as: Connection_Connection.self, timeout: .seconds(10))
                #expect(response.labels["big"]?.count == 1_000_000)
            }
        }
    }

    @Test("a client that goes away cancels its RPC on the server")
    func cancellation() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        let streaming = StreamingService()
        try await withLeanServer(.unixDomainSocket(path: path), streaming: streaming) { address, _ in
            try await withStockClient(address) { client in
                let first = try await Connection_MonitorConnection.Client(wrapping: client).monitorConnections(selector("forever")) { response in
                    for try await event in response.messages { return event.connections.keys.first }
                    return nil
                }
                #expect(first == "e0")
            }
            let deadline = ContinuousClock.now + .seconds(3)
            while !streaming.endedForever.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(streaming.endedForever.withLock { $0 })
        }
    }

    @Test("graceful shutdown: a call in flight completes, new connections are refused, serve() returns")
    func gracefulShutdown() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        let lean = LeanGRPCClient(target: .unixDomainSocket(path: path))
        defer { lean.shutDown() }
        try await withLeanServer(.unixDomainSocket(path: path)) { _, server in
            _ = try await lean.call(requestPath, request("warm"), as: Connection_Connection.self, timeout: .seconds(5))
            let id = "sleep:300:\(UUID().uuidString.prefix(6))"
            async let slow = lean.call(requestPath, request(id), as: Connection_Connection.self, timeout: .seconds(5))
            try await echoArrivals.wait(for: id)
            server.beginGracefulShutdown()
            let answer = try await slow
            #expect(answer.id == id + "-echo")
        }
        let error = await #expect(throws: RPCError.self) {
            try await lean.call(requestPath, request("late"), as: Connection_Connection.self, timeout: .seconds(2))
        }
        #expect(error?.code == .unavailable)
    }

    @Test("a stale socket file left by a crashed server does not stop a new one from binding")
    func staleSocket() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        // A socket file nobody listens on.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(bound == 0 && FileManager.default.fileExists(atPath: path))
        try await withLeanServer(.unixDomainSocket(path: path)) { _, _ in
            let lean = LeanGRPCClient(target: .unixDomainSocket(path: path))
            defer { lean.shutDown() }
            let answer = try await lean.call(requestPath, request("n"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(answer.id == "n-echo")
        }
    }

    @Test("a unix caller arrives with its pid, uid and network namespace; a namespace it passes with its first byte is seen, other files are not")
    func unixCallerCredentials() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        let own = try #require(FileIdentity(path: "/proc/self/ns/net"))
        try await withLeanServer(.unixDomainSocket(path: path)) { _, _ in
            let plain = LeanGRPCClient(target: .unixDomainSocket(path: path))
            defer { plain.shutDown() }
            let seen = try await plain.call(requestPath, request("caller"), as: Connection_Connection.self, timeout: .seconds(5)).labels
            #expect(seen["pid"] == "\(getpid())" && seen["uid"] == "\(getuid())")
            #expect(seen["netns"] == own.description)
            #expect(seen["passed"] == "")

            // Passing a namespace (ours: the test cannot tell it apart by value, but it arrives as passed).
            let passing = LeanGRPCClient(target: .unixDomainSocket(path: path), passingFile: "/proc/self/ns/net")
            defer { passing.shutDown() }
            let passed = try await passing.call(requestPath, request("caller"), as: Connection_Connection.self, timeout: .seconds(5)).labels
            #expect(passed["passed"] == own.description)
            // Further calls on the same connection keep what the connection established.
            let again = try await passing.call(requestPath, request("caller"), as: Connection_Connection.self, timeout: .seconds(5)).labels
            #expect(again["passed"] == own.description)

            // A file that is not a network namespace passes nothing.
            let other = LeanGRPCClient(target: .unixDomainSocket(path: path), passingFile: "/proc/self/stat")
            defer { other.shutDown() }
            let notNamespace = try await other.call(requestPath, request("caller"), as: Connection_Connection.self, timeout: .seconds(5)).labels
            #expect(notNamespace["passed"] == "" && notNamespace["netns"] == own.description)

            // grpc-swift's client (no descriptors) works on the same socket.
            try await withStockClient(.unixDomainSocket(path: path)) { client in
                let stock = try await Networkservice_NetworkService.Client(wrapping: client).request(request("caller")).labels
                #expect(stock["pid"] == "\(getpid())" && stock["passed"] == "")
            }
        }
        try await withLeanServer(.tcp(host: "127.0.0.1", port: 0)) { address, _ in
            guard case .tcp(_, let port) = address else { Issue.record("not TCP: \(address)"); return }
            let lean = LeanGRPCClient(target: .tcp(host: "127.0.0.1", port: port))
            defer { lean.shutDown() }
            let seen = try await lean.call(requestPath, request("caller"), as: Connection_Connection.self, timeout: .seconds(5)).labels
            #expect(seen["network"]?.hasPrefix("ipv4:127.0.0.1:") == true && seen["pid"] == nil)
        }
    }

    @Test("a connection that never says anything holds up no other caller; a passing client to a missing socket fails with unavailable")
    func silentConnection() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        try await withLeanServer(.unixDomainSocket(path: path)) { _, _ in
            // Connected, silent: the listener waits for its first bytes beside everyone else's.
            let silent = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(silent) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(silent, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(connected == 0)
            let lean = LeanGRPCClient(target: .unixDomainSocket(path: path))
            defer { lean.shutDown() }
            let answer = try await lean.call(requestPath, request("after-silent"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(answer.id == "after-silent-echo")
        }
        let missing = LeanGRPCClient(target: .unixDomainSocket(path: path + ".missing"), passingFile: "/proc/self/ns/net")
        defer { missing.shutDown() }
        await #expect { try await missing.call(requestPath, request("x"), as: Connection_Connection.self, timeout: .seconds(5)) } throws: { error in
            (error as? RPCError)?.code == .unavailable
        }
    }
}
