import GRPCCore
import IPAddressing
import NSMAPI
import NSMCore
import NSMElements
import Synchronization
import Testing

@Suite("ExcludeOwnPrefixesElement")
struct ExcludeOwnPrefixesElementTests {
    /// An endpoint side that hands out `addresses` in turn and records the exclusions it saw.
    final class Endpoint: NetworkServiceElement {
        let answers: Mutex<[[String]]>
        let excluded = Mutex<[[String]]>([])
        let closed = Mutex<[String]>([])
        let refusals: Mutex<Int>
        init(_ answers: [[String]], refusals: Int = 0) {
            self.answers = Mutex(answers)
            self.refusals = Mutex(refusals)
        }
        func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
            excluded.withLock { $0.append(request.connection.context.ipContext.excludedPrefixes) }
            if refusals.withLock({ count in defer { count -= 1 }; return count > 0 }) {
                throw NSMError.alreadyExists("the pod holds 172.16.1.1/32 on nsm-1")
            }
            var connection = request.connection
            let pair = answers.withLock { $0.removeFirst() }
            connection.context.ipContext.srcIpAddrs = [pair[0]]
            connection.context.ipContext.dstIpAddrs = [pair[1]]
            return connection
        }
        func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
            closed.withLock { $0.append(connection.context.ipContext.srcIpAddrs.first ?? "") }
        }
    }

    @Test("a request excludes what the pod's other connections hold; a Close gives it back")
    func excludes() async throws {
        let endpoint = Endpoint([["172.16.1.1/32", "172.16.1.0/32"], ["172.16.2.1/32", "172.16.2.0/32"], ["172.16.1.1/32", "172.16.1.0/32"]])
        let chain = NetworkServiceChain([ExcludeOwnPrefixesElement(pod: PodPrefixes()), endpoint])
        let first = try await chain.request(request(id: "pod-0"), context: ChainContext())
        _ = try await chain.request(request(id: "pod-1"), context: ChainContext())
        #expect(endpoint.excluded.withLock { $0 } == [[], ["172.16.1.1/32", "172.16.1.0/32"]])
        try await chain.close(first, context: ChainContext())
        _ = try await chain.request(request(id: "pod-2"), context: ChainContext())
        #expect(endpoint.excluded.withLock { $0.last } == ["172.16.2.1/32", "172.16.2.0/32"])
    }

    @Test("an answer that collides with another connection's addresses is closed and requested again excluding it")
    func collision() async throws {
        let endpoint = Endpoint([["172.16.1.1/32", "172.16.1.0/32"], ["172.16.1.1/32", "172.16.1.0/32"], ["172.16.1.3/32", "172.16.1.2/32"]])
        let pod = PodPrefixes()
        let chain = NetworkServiceChain([ExcludeOwnPrefixesElement(pod: pod), endpoint])
        _ = try await chain.request(request(id: "pod-0"), context: ChainContext())
        // Sent before pod-0's answer was known (two services at once): the endpoint saw no exclusion.
        let second = try await NetworkServiceChain([ExcludeOwnPrefixesElement(pod: pod), ForgetExclusions(), endpoint]).request(request(id: "pod-1"), context: ChainContext())
        #expect(second.context.ipContext.srcIpAddrs == ["172.16.1.3/32"])
        #expect(endpoint.closed.withLock { $0 } == ["172.16.1.1/32"])
    }

    @Test("ALREADY_EXISTS from the data plane is requested again, up to the last attempt, whose refusal is the caller's")
    func refusals() async throws {
        let endpoint = Endpoint([["172.16.5.1/32", "172.16.5.0/32"]], refusals: 2)
        let answer = try await NetworkServiceChain([ExcludeOwnPrefixesElement(pod: PodPrefixes()), endpoint]).request(request(id: "r"), context: ChainContext())
        #expect(answer.context.ipContext.srcIpAddrs == ["172.16.5.1/32"] && endpoint.excluded.withLock { $0.count } == 3)
        let stubborn = Endpoint([], refusals: 10)
        let error = await #expect(throws: NSMError.self) {
            _ = try await NetworkServiceChain([ExcludeOwnPrefixesElement(pod: PodPrefixes(), attempts: 3), stubborn]).request(request(id: "s"), context: ChainContext())
        }
        #expect(error?.code == .alreadyExists && stubborn.excluded.withLock { $0.count } == 3)
    }

    /// Drops the exclusions, as if the request had left before the others' answers.
    struct ForgetExclusions: NetworkServiceElement {
        func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
            var request = request
            if request.connection.context.ipContext.excludedPrefixes.count <= 2 { request.connection.context.ipContext.excludedPrefixes = [] }
            return try await next.request(request, context: context)
        }
    }
}
