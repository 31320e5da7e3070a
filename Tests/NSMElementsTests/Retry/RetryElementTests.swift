import NSMAPI
import NSMCore
import NSMElements
import Synchronization
import Testing

@Suite("RetryElement")
struct RetryElementTests {
    /// Fails the first `failures` requests with `error`, recording what each request carried.
    final class Flaky: NetworkServiceElement {
        let seen = Mutex<[Networkservice_NetworkServiceRequest]>([])
        let remaining: Mutex<Int>
        let error: NSMError
        init(failures: Int, error: NSMError = .unavailable("endpoint away")) {
            remaining = Mutex(failures)
            self.error = error
        }
        func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
            seen.withLock { $0.append(request) }
            if remaining.withLock({ count in defer { count -= 1 }; return count > 0 }) { throw error }
            return request.connection
        }
    }

    final class Reported: Sendable {
        let texts = Mutex<[String]>([])
    }

    func retrying(_ reported: Reported, reselect: @escaping @Sendable () -> Bool = { true }) -> ChainContext {
        var context = ChainContext()
        context.values[RetryElement.Retrying.self] = .init(
            backoff: Backoff(initial: .milliseconds(1), maximum: .milliseconds(2)), onFailure: { text in reported.texts.withLock { $0.append(text) } },
            reselect: reselect)
        return context
    }

    @Test("a failed request is retried until it works; every retry reselects; the same failure is reported once")
    func retries() async throws {
        let flaky = Flaky(failures: 3), reported = Reported()
        var first = request(id: "r")
        first.connection.networkServiceEndpointName = "nse-old"
        first.connection.context.ipContext.srcIpAddrs = ["172.16.1.1/32"]
        let connection = try await NetworkServiceChain([RetryElement(), flaky]).request(first, context: retrying(reported))
        #expect(connection.id == "r")
        let seen = flaky.seen.withLock { $0 }
        #expect(seen.count == 4)
        #expect(seen[0].connection.networkServiceEndpointName == "nse-old" && seen[0].connection.state != .reselectRequested)
        #expect(seen.dropFirst().allSatisfy {
            $0.connection.state == .reselectRequested && $0.connection.networkServiceEndpointName.isEmpty && $0.connection.context.ipContext.srcIpAddrs.isEmpty
        })
        #expect(reported.texts.withLock { $0 } == ["unavailable: endpoint away"])
    }

    @Test("while the caller says the path is good (its data path answers), retries keep the path; once it does not, they reselect")
    func keepsThePath() async throws {
        let flaky = Flaky(failures: 4), reported = Reported()
        let answers = Mutex(2)  // the data path answers for the first two retries, then goes silent
        var first = request(id: "k")
        first.connection.networkServiceEndpointName = "nse-serving"
        first.connection.path.pathSegments = [.init(name: "k", id: "k"), .init(name: "nsmgr", id: "m")]
        let context = retrying(reported) { answers.withLock { left in defer { left -= 1 }; return left <= 0 } }
        _ = try await NetworkServiceChain([RetryElement(), flaky]).request(first, context: context)
        let seen = flaky.seen.withLock { $0 }
        #expect(seen.count == 5)
        #expect(seen.prefix(3).allSatisfy { $0.connection.networkServiceEndpointName == "nse-serving" && $0.connection.state != .reselectRequested && $0.connection.path.pathSegments.count == 2 })
        #expect(seen.dropFirst(3).allSatisfy { $0.connection.state == .reselectRequested && $0.connection.networkServiceEndpointName.isEmpty })
    }

    @Test("without Retrying in the context the first failure is the caller's")
    func oneShot() async throws {
        let flaky = Flaky(failures: 1)
        await #expect(throws: NSMError.self) { _ = try await NetworkServiceChain([RetryElement(), flaky]).request(request(id: "o"), context: ChainContext()) }
        #expect(flaky.seen.withLock { $0.count } == 1)
    }

    @Test("a cancelled caller stops retrying")
    func cancellation() async throws {
        let flaky = Flaky(failures: .max), reported = Reported()
        let context = retrying(reported)
        let task = Task { try await NetworkServiceChain([RetryElement(), flaky]).request(request(id: "c"), context: context) }
        try await eventually("a few attempts") { flaky.seen.withLock { $0.count } >= 3 }
        task.cancel()
        await #expect(throws: (any Error).self) { _ = try await task.value }
    }
}
