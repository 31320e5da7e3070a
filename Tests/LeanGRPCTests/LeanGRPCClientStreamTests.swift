import Foundation
import GRPCCore
import LeanGRPC
import NSMAPI
import Synchronization
import Testing

@Suite("LeanGRPCClient server-streaming calls")
struct LeanGRPCClientStreamTests {
    let path = "/connection.MonitorConnection/MonitorConnections"

    /// The RPCError `body` throws (nil, and a recorded issue, when it throws none or another).
    func rpcError(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            Issue.record("expected an RPCError, nothing was thrown")
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("expected an RPCError, got \(error)")
        }
        return nil
    }

    func ids(_ client: LeanGRPCClient, _ id: String) async throws -> [String] {
        let seen = Mutex<[String]>([])
        try await client.serverStream(path, selector("", id: id), as: Connection_ConnectionEvent.self) { event in
            seen.withLock { $0 += event.connections.keys.sorted() }
        }
        return seen.withLock { $0 }
    }

    @Test("every message arrives in order and the call returns when the server ends the stream; unary calls share the connection meanwhile")
    func ordered() async throws {
        try await withEchoClient { client in
            #expect(try await ids(client, "count:200:0") == (0..<200).map { "e\($0)" })
            #expect(try await ids(client, "count:0:0") == [])
            async let streamed = ids(client, "count:50:10")
            let answer = try await client.call("/networkservice.NetworkService/Request", request("plain"), as: Connection_Connection.self, timeout: .seconds(5))
            #expect(answer.id == "plain-echo")
            #expect(try await streamed.count == 50)
        }
    }

    @Test("a stream longer than the window (20 × 1 MB): its window is topped up as messages arrive")
    func flowControl() async throws {
        try await withEchoClient { client in
            let sizes = Mutex<[Int]>([])
            try await client.serverStream(path, selector("", id: "count:20:1000000"), as: Connection_ConnectionEvent.self) { event in
                sizes.withLock { $0.append(event.connections.values.first?.labels["big"]?.count ?? 0) }
            }
            #expect(sizes.withLock { $0 } == Array(repeating: 1_000_000, count: 20))
        }
    }

    @Test("the server's status after some messages is thrown, with the messages before it delivered")
    func failure() async throws {
        try await withEchoClient { client in
            let seen = Mutex(0)
            let error = await #expect(throws: RPCError.self) {
                try await client.serverStream(path, selector("", id: "fail:3:7"), as: Connection_ConnectionEvent.self) { _ in seen.withLock { $0 += 1 } }
            }
            #expect(error?.code == .permissionDenied && error?.message == "failed after 3")
            #expect(seen.withLock { $0 } == 3)
        }
    }

    @Test("a message larger than the client accepts ends the stream with resourceExhausted; the connection serves on")
    func tooLarge() async throws {
        try await withEchoClient(maximumResponseBytes: 100_000) { client in
            let error = await rpcError { _ = try await ids(client, "count:2:200000") }
            #expect(error?.code == .resourceExhausted)
            let after = try await ids(client, "count:2:10")
            #expect(after == ["e0", "e1"])
        }
    }

    @Test("a body that throws, or a cancelled caller, ends the stream at the server too")
    func stopping() async throws {
        try await withEchoClient { client in
            struct Enough: Error {}
            await #expect(throws: Enough.self) {
                try await client.serverStream(path, selector("", id: "forever:thrown"), as: Connection_ConnectionEvent.self) { _ in throw Enough() }
            }
            try await streamEndings.wait(for: "thrown cancelled")

            let first = AsyncStream.makeStream(of: Void.self)
            let task = Task {
                try await client.serverStream(path, selector("", id: "forever:cancelled"), as: Connection_ConnectionEvent.self) { _ in first.continuation.yield() }
            }
            for await _ in first.stream { break }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            try await streamEndings.wait(for: "cancelled cancelled")
        }
    }

    @Test("the connection closing ends an open stream with unavailable")
    func connectionGone() async throws {
        try await withEchoClient { client in
            let first = AsyncStream.makeStream(of: Void.self)
            let task = Task {
                try await client.serverStream(path, selector("", id: "forever:gone"), as: Connection_ConnectionEvent.self) { _ in first.continuation.yield() }
            }
            for await _ in first.stream { break }
            client.shutDown()
            let error = await rpcError { try await task.value }
            #expect(error?.code == .unavailable)
        }
    }
}
