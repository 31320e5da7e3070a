import Logging
import NSMAPI
import NSMCore
import NSMRuntime
import Synchronization
import Testing

@Suite("In-process hops")
struct InProcessDialerTests {
    /// Records which URLs were dialed (a stand-in for gRPC in this unit test of the dialer).
    final class RecordingDialer: NetworkServiceDialer {
        let dialed = Mutex<[NSMURL]>([])
        func peer(for url: NSMURL) async throws -> any NetworkServicePeer {
            dialed.withLock { $0.append(url) }
            throw NSMError.unavailable("not reachable in this test: \(url)")
        }
    }

    /// Answers with the request's connection, its id marked, and counts closes.
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    struct MarkingElement: NetworkServiceElement {
        let closes: Counter
        func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
            var connection = request.connection
            connection.id += "-served-in-process"
            return connection
        }
        func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
            closes.value.withLock { $0 += 1 }
        }
    }

    @Test("a registered URL is served by its chain; any other goes to the fallback dialer")
    func routing() async throws {
        let hops = InProcessHops(), fallback = RecordingDialer()
        let local = NSMURL.unix(path: "/run/nsm/forwarder.sock"), remote = NSMURL.tcp(host: "10.0.0.2", port: 5001)
        let closes = Counter()
        hops.register(local, chain: NetworkServiceChain([MarkingElement(closes: closes)]), logger: Logger(label: "test"), name: "forwarder")
        let dialer = InProcessDialer(hops: hops, fallback: fallback)

        var request = Networkservice_NetworkServiceRequest()
        request.connection.id = "conn-1"
        let answer = try await dialer.peer(for: local).request(request)
        #expect(answer.id == "conn-1-served-in-process")
        try await dialer.peer(for: local).close(answer)
        #expect(closes.value.withLock { $0 } == 1)
        #expect(fallback.dialed.withLock { $0 }.isEmpty)

        await #expect(throws: NSMError.self) { _ = try await dialer.peer(for: remote) }
        #expect(fallback.dialed.withLock { $0 } == [remote])
    }
}
