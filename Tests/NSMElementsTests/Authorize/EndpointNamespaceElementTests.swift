import GRPCCore
import NSMAPI
import NSMCore
@testable import NSMElements
import Synchronization
import Testing

/// A peer whose process is in `namespace`, answering every Request with a KERNEL mechanism naming `answers`.
struct NamespacedPeer: NetworkServicePeer {
    let url: NSMURL
    let namespace: NamespaceURL?
    func request(_ request: Networkservice_NetworkServiceRequest) async throws -> Connection_Connection { request.connection }
    func close(_ connection: Connection_Connection) async throws {}
    func monitorConnections(_ selector: Connection_MonitorScopeSelector, _ body: @escaping @Sendable (Connection_ConnectionEvent) async throws -> Void) async throws {}
    func suspect() {}
    func processNamespace() async throws -> NamespaceURL? { namespace }
}

struct NamespacedDialer: NetworkServiceDialer {
    let namespace: NamespaceURL?
    func peer(for url: NSMURL) async throws -> any NetworkServicePeer { NamespacedPeer(url: url, namespace: namespace) }
}

/// Stands for the endpoint: answers with its KERNEL mechanism naming `answers`, counts closes.
final class AnsweringWith: NetworkServiceElement {
    let answers: String
    let closes = Mutex(0)
    init(_ answers: String) { self.answers = answers }
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        var connection = request.connection
        connection.mechanism = .kernel(interfaceName: "nsm-1", namespace: NamespaceURL(answers))
        return connection
    }
    func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        closes.withLock { $0 += 1 }
    }
}

@Suite("EndpointNamespaceElement")
struct EndpointNamespaceElementTests {
    static let endpointNamespace = NamespaceURL.inode(device: 4, inode: 4_026_532_100)

    func run(answering: String, nextHop: NSMURL, processIn namespace: NamespaceURL?) async throws -> (Connection_Connection, AnsweringWith) {
        let endpoint = AnsweringWith(answering)
        let chain = NetworkServiceChain([EndpointNamespaceElement(dialer: NamespacedDialer(namespace: namespace)), endpoint])
        var context = ChainContext()
        context.nextHop = nextHop
        return (try await chain.request(request(id: "c"), context: context), endpoint)
    }

    @Test("an endpoint naming its own namespace passes; naming another is refused and its connection closed")
    func ownOrNot() async throws {
        let unix = NSMURL.unix(path: "/var/lib/networkservicemesh/nse.sock")
        let (answer, _) = try await run(answering: Self.endpointNamespace.description, nextHop: unix, processIn: Self.endpointNamespace)
        #expect(answer.mechanism.inodeURL == Self.endpointNamespace.description)
        let endpoint = AnsweringWith("inode://4/4026531840")
        let chain = NetworkServiceChain([EndpointNamespaceElement(dialer: NamespacedDialer(namespace: Self.endpointNamespace)), endpoint])
        var context = ChainContext()
        context.nextHop = unix
        await #expect {
            _ = try await chain.request(request(id: "c"), context: context)
        } throws: { error in
            (error as? NSMError)?.code == .permissionDenied && "\(error)".contains("inode://4/4026531840") && "\(error)".contains(Self.endpointNamespace.description)
        }
        #expect(endpoint.closes.withLock { $0 } == 1)
    }

    @Test("a next hop over TCP may not answer with a namespace here; an unknown process namespace is not judged")
    func tcpAndUnknown() async throws {
        await #expect(throws: NSMError.self) {
            _ = try await run(answering: Self.endpointNamespace.description, nextHop: .tcp(host: "10.0.0.2", port: 5001), processIn: nil)
        }
        _ = try await run(answering: Self.endpointNamespace.description, nextHop: .unix(path: "/x.sock"), processIn: nil)
    }
}
