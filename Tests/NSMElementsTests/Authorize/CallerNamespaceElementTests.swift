import Foundation
import GRPCCore
import IPAddressing
import Synchronization
import NSMAPI
import NSMCore
@testable import NSMElements
import Testing

@Suite("CallerNamespaceElement")
struct CallerNamespaceElementTests {
    /// This process's namespace as `inode://`, and another real namespace file's (PID 1's may be
    /// the same one; the made-up inode never is).
    static let own: NamespaceURL = {
        var info = stat()
        _ = stat("/proc/self/ns/net", &info)
        return .inode(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }()
    static let elsewhere = NamespaceURL.inode(device: 4, inode: 4_026_539_999)

    func kernelRequest(_ namespace: String?) -> Networkservice_NetworkServiceRequest {
        var request = request(id: "c-1")
        request.mechanismPreferences = [.kernel(interfaceName: "nsm-1", namespace: namespace.flatMap(NamespaceURL.init))]
        if namespace != nil, NamespaceURL(namespace!) == nil { request.mechanismPreferences[0].inodeURL = namespace }
        return request
    }

    func chain(seen: @escaping @Sendable (Networkservice_NetworkServiceRequest) -> Void = { _ in }) -> NetworkServiceChain {
        NetworkServiceChain([CallerNamespaceElement(), CheckRequestElement { seen($0) }])
    }

    func denied(_ request: Networkservice_NetworkServiceRequest, caller: Caller, saying words: [String]) async {
        await #expect {
            _ = try await chain().request(request, context: ChainContext(caller: caller))
        } throws: { error in
            guard let error = error as? NSMError, error.code == .permissionDenied else { return false }
            return words.allSatisfy { error.message.contains($0) }
        }
    }

    @Test("a local caller may name its own namespace, by inode or by its self path; the name reaching the next element is inode://")
    func ownNamespace() async throws {
        let caller = Caller.local(pid: 42, uid: 0, namespace: Self.own)
        for name in [Self.own.description, "file:///proc/thread-self/ns/net", "file:///proc/self/ns/net"] {
            let seen = SeenRequests()
            _ = try await chain(seen: seen.record).request(kernelRequest(name), context: ChainContext(caller: caller))
            #expect(seen.last?.mechanismPreferences.first?.inodeURL == Self.own.description, "\(name)")
        }
    }

    @Test("a local caller naming another namespace is refused, saying which it named and which it is in")
    func anotherNamespace() async throws {
        let caller = Caller.local(pid: 42, uid: 0, namespace: Self.own)
        await denied(kernelRequest(Self.elsewhere.description), caller: caller, saying: [Self.elsewhere.description, "pid 42", Self.own.description, "own network namespace"])
        // A file path is resolved here: /proc/1/ns/net of a process in another namespace, or a made-up one
        // in our namespace (allowed: it is ours).
        let directory = NSTemporaryDirectory() + "callerns-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: directory + "/not-a-namespace", contents: Data())
        await denied(kernelRequest("file://\(directory)/not-a-namespace"), caller: caller, saying: ["not-a-namespace", "own network namespace"])
        await denied(kernelRequest("file://\(directory)/missing"), caller: caller, saying: ["missing", "cannot be read"])
        // The connection's own mechanism (a refresh) is checked too.
        var refresh = kernelRequest(Self.own.description)
        refresh.connection.mechanism = .kernel(interfaceName: "nsm-1", namespace: Self.elsewhere)
        await denied(refresh, caller: caller, saying: ["the connection's mechanism", Self.elsewhere.description])
        // A caller whose namespace could not be read names nothing.
        await denied(kernelRequest(Self.own.description), caller: .local(pid: 7, uid: 0, namespace: nil), saying: ["could not be read"])
    }

    @Test("over the network no KERNEL mechanism may name a namespace; tunnel mechanisms and in-process calls pass")
    func remoteAndInProcess() async throws {
        await denied(kernelRequest(Self.own.description), caller: .remote("ipv4:10.0.0.9:4000"), saying: ["over the network", "10.0.0.9"])
        var tunnel = request(id: "t-1")
        tunnel.mechanismPreferences = [.vxlan(sourceIP: IPAddress("192.168.0.1")!)]
        _ = try await chain().request(tunnel, context: ChainContext(caller: .remote("ipv4:10.0.0.9:4000")))
        _ = try await chain().request(kernelRequest(Self.elsewhere.description), context: ChainContext(caller: .inProcess))
    }

    @Test("a malformed inodeURL is an invalid argument naming the accepted forms")
    func malformed() async {
        await #expect {
            _ = try await chain().request(kernelRequest("netns:foo"), context: ChainContext(caller: .local(pid: 1, uid: 0, namespace: Self.own)))
        } throws: { error in
            (error as? NSMError)?.code == .invalidArgument && "\(error)".contains("inode://<device>/<inode>")
        }
    }
}

final class SeenRequests: Sendable {
    private let requests = Mutex<[Networkservice_NetworkServiceRequest]>([])
    var last: Networkservice_NetworkServiceRequest? { requests.withLock { $0.last } }
    @Sendable func record(_ request: Networkservice_NetworkServiceRequest) { requests.withLock { $0.append(request) } }
}
