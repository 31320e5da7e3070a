import GRPCCore
import NSMAPI
import NSMCore
import NSMElements
import Testing

@Suite("ValidateRequestElement")
struct ValidateRequestElementTests {
    /// What each oversized part looks like, and the words its refusal must contain.
    static let oversized: [(String, @Sendable (inout Networkservice_NetworkServiceRequest) -> Void, String)] = [
        ("a 1 MB connection id", { $0.connection.id = String(repeating: "i", count: 1 << 20) }, "connection.id of 1048576 bytes"),
        ("10,000 path segments", { request in
            request.connection.path.pathSegments = (0..<10_000).map { Connection_PathSegment(name: "hop\($0)", id: "\($0)") }
        }, "10000 segments; at most 32"),
        ("a 1 MB token", { $0.connection.path.pathSegments = [tokenSegment("pod", "p", String(repeating: "t", count: 1 << 20))] },
         "segment 0 token of 1048576 bytes"),
        ("10,000 labels", { request in
            request.connection.labels = Dictionary(uniqueKeysWithValues: (0..<10_000).map { ("k\($0)", "v") })
        }, "10000 entries; at most 256"),
        ("a 1 MB label value", { $0.connection.labels = ["app": String(repeating: "v", count: 1 << 20)] }, "longer than 1024 bytes"),
        ("a 300-byte service name", { $0.connection.networkService = String(repeating: "s", count: 300) }, "network_service of 300 bytes"),
        ("100 mechanism preferences", { $0.mechanismPreferences = Array(repeating: .kernel(interfaceName: "nsm-1"), count: 100) }, "100 mechanism preferences"),
        ("a 1 MB mechanism parameter", { $0.mechanismPreferences = [.kernel(interfaceName: String(repeating: "n", count: 1 << 20))] }, "longer than 4096 bytes"),
        ("100,000 addresses", { $0.connection.context.ipContext.srcIpAddrs = Array(repeating: "10.0.0.1/32", count: 100_000) }, "src_ip_addrs has 100000 entries"),
    ]

    @Test("each oversized part is refused with INVALID_ARGUMENT naming it and its bound; nothing reaches the next element",
          arguments: oversized.indices)
    func oversizedIsRefused(_ index: Int) async throws {
        let (name, change, words) = Self.oversized[index]
        var hostile = request(id: "conn-v")
        change(&hostile)
        let counting = CountingElement()
        let error = await #expect(throws: NSMError.self, "\(name)") {
            _ = try await NetworkServiceChain([ValidateRequestElement(), counting]).request(hostile, context: ChainContext())
        }
        #expect(error?.code == .invalidArgument, "\(name)")
        #expect(error?.message.contains(words) == true, "\(name): \(error?.message.prefix(200) ?? "")")
        #expect((error?.message.utf8.count ?? 0) < 300, "\(name): the refusal echoes at most a short prefix")
        #expect(counting.requests == 0)
    }

    @Test("a Close of an oversized connection is refused the same way")
    func closeIsChecked() async throws {
        var connection = request(id: "conn-c").connection
        connection.path.pathSegments = (0..<100).map { Connection_PathSegment(name: "hop\($0)", id: "\($0)") }
        let counting = CountingElement()
        let error = await #expect(throws: NSMError.self) {
            try await NetworkServiceChain([ValidateRequestElement(), counting]).close(connection, context: ChainContext())
        }
        #expect(error?.code == .invalidArgument)
        #expect(counting.closes == 0)
    }

    @Test("a request as clients send them, at the bounds, passes")
    func ordinaryPasses() async throws {
        var ordinary = request(id: "pod-1-0", path: [tokenSegment("pod-1", "pod-1-0", String(repeating: "t", count: 600))])
        ordinary.connection.labels = Dictionary(uniqueKeysWithValues: (0..<256).map { ("k\($0)", String(repeating: "v", count: 1024)) })
        ordinary.connection.networkService = String(repeating: "s", count: 253)
        let counting = CountingElement()
        _ = try await NetworkServiceChain([ValidateRequestElement(), counting, EchoTail()]).request(ordinary, context: ChainContext())
        #expect(counting.requests == 1)
    }
}

func tokenSegment(_ name: String, _ id: String, _ token: String) -> Connection_PathSegment {
    var segment = Connection_PathSegment(name: name, id: id)
    segment.token = token
    return segment
}

/// Answers with the connection it was asked for.
struct EchoTail: NetworkServiceElement {
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        request.connection
    }
}
