import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LeanGRPC
import NSMAPI
import Testing

@Suite("Lean unary client against a grpc-swift server", .serialized)
struct LeanGRPCClientTests {
    @Test("a call over a unix socket returns the server's response")
    func unixRoundTrip() async throws {
        try await withEchoClient { client in
            let response = try await client.call(requestPath, request("c1"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(response.id == "c1-echo")
            #expect(response.networkService == "svc")
            // The connection is reused.
            let again = try await client.call(requestPath, request("c2"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(again.id == "c2-echo")
        }
    }

    @Test("a call over TCP works as well")
    func tcpRoundTrip() async throws {
        try await withEchoServer(.ipv4(host: "127.0.0.1", port: 0)) { bound in
            let port = try #require(bound.ipv4?.port)
            let client = LeanGRPCClient(target: .tcp(host: "127.0.0.1", port: port))
            defer { client.shutDown() }
            let response = try await client.call(requestPath, request("t1"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(response.id == "t1-echo")
        }
    }

    @Test("the server's status code and (percent-encoded) message arrive intact")
    func serverError() async throws {
        try await withEchoClient { client in
            let error = await #expect(throws: RPCError.self) {
                try await client.call(requestPath, request("fail:5:no endpoint for 100% ü"), as: Connection_Connection.self, timeout: .seconds(5))
            }
            #expect(error?.code == .notFound)
            #expect(error?.message == "no endpoint for 100% ü")
        }
    }

    @Test("an unknown method is unimplemented")
    func unknownMethod() async throws {
        try await withEchoClient { client in
            let error = await #expect(throws: RPCError.self) {
                try await client.call("/networkservice.NetworkService/Nope", request("u"), as: Connection_Connection.self, timeout: .seconds(5))
            }
            #expect(error?.code == .unimplemented)
        }
    }

    @Test("a slow server hits the deadline; the connection keeps serving")
    func deadline() async throws {
        try await withEchoClient { client in
            let error = await #expect(throws: RPCError.self) {
                try await client.call(requestPath, request("sleep:2000"), as: Connection_Connection.self, timeout: .milliseconds(100))
            }
            #expect(error?.code == .deadlineExceeded)
            let response = try await client.call(requestPath, request("after"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(response.id == "after-echo")
        }
    }

    @Test("a cancelled caller gets .cancelled at once")
    func cancellation() async throws {
        try await withEchoClient { client in
            let id = "sleep:3000:\(UUID().uuidString.prefix(6))"
            let task = Task { try await client.call(requestPath, request(id), as: Connection_Connection.self, timeout: .seconds(10)) }
            try await echoArrivals.wait(for: id)
            let start = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(ContinuousClock.now - start < .seconds(2))
            #expect((result.failure as? RPCError)?.code == .cancelled)
        }
    }

    @Test("responses beyond the first connection window (12 × 1 MB) arrive: the window is topped up")
    func flowControl() async throws {
        try await withEchoClient { client in
            for round in 0..<12 {
                let response = try await client.call(requestPath, request("big:1000000"), as: Connection_Connection.self, timeout: .seconds(10))
                #expect(response.labels["big"]?.count == 1_000_000, "round \(round)")
            }
        }
    }

    @Test("a response larger than the client accepts is refused with resourceExhausted")
    func tooLarge() async throws {
        try await withEchoClient(maximumResponseBytes: 100_000) { client in
            let error = await #expect(throws: RPCError.self) {
                try await client.call(requestPath, request("big:200000"), as: Connection_Connection.self, timeout: .seconds(5))
            }
            #expect(error?.code == .resourceExhausted)
            let small = try await client.call(requestPath, request("big:10"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(small.labels["big"] == "xxxxxxxxxx")
        }
    }

    @Test("many concurrent calls share one connection, beyond the server's stream limit, each gets its own answer")
    func concurrency() async throws {
        try await withEchoClient(maxConcurrentStreams: 10) { client in
            let ids = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let id = index % 3 == 0 ? "sleep:5-\(index)" : "p\(index)"
                        return (index, try await client.call(requestPath, request(id), as: Connection_Connection.self, timeout: .seconds(20)).id)
                    }
                }
                var seen: [Int: String] = [:]
                for try await (index, id) in group { seen[index] = id }
                return seen
            }
            #expect(ids.count == 200)
            for (index, id) in ids {
                #expect(id == (index % 3 == 0 ? "sleep:5-\(index)-echo" : "p\(index)-echo"))
            }
        }
    }

    @Test("no server: unavailable; a server that comes up later is reached by the next call")
    func reconnect() async throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        let client = LeanGRPCClient(target: .unixDomainSocket(path: path))
        defer { client.shutDown() }
        let error = await #expect(throws: RPCError.self) {
            try await client.call(requestPath, request("early"), as: Connection_Connection.self, timeout: .seconds(2))
        }
        #expect(error?.code == .unavailable)
        try await withEchoServer(.unixDomainSocket(path: path)) { _ in
            let response = try await client.call(requestPath, request("first"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(response.id == "first-echo")
        }
        // The server went away (graceful shutdown: GOAWAY, then close); a new one on the same path is reached.
        unlink(path)
        try await withEchoServer(.unixDomainSocket(path: path)) { _ in
            let response = try await client.call(requestPath, request("second"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(response.id == "second-echo")
        }
    }

    @Test("after shutDown calls fail with unavailable")
    func shutDown() async throws {
        let client = LeanGRPCClient(target: .unixDomainSocket(path: temporarySocketPath()))
        client.shutDown()
        let error = await #expect(throws: RPCError.self) {
            try await client.call(requestPath, request("x"), as: Connection_Connection.self, timeout: .seconds(1))
        }
        #expect(error?.code == .unavailable)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
