public import ChildProcesses
import Foundation
import Glibc
public import Kubernetes
import Readiness

/// `Tests/KubernetesAPIServer/apiserver.py` — a stand-in for kube-apiserver that follows the API
/// conventions (see its header) — run for one test, with its own CA, token and kubeconfig.
public final class TestAPIServer: Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    public let directory: String
    public let port: Int
    let process: ChildProcess

    /// - Parameters:
    ///   - watchSeconds: the server ends every watch after this long.
    ///   - history: how many events it keeps for watches (older versions get 410).
    ///   - serviceCIDR: the service range (comma-separated for dual stack) Services must take their IPs from.
    ///   - certificateNames: the serving certificate's subjectAltName, openssl's spelling.
    public init(
        watchSeconds: Double = 1800, history: Int = 10000, bookmarkSeconds: Double = 1, serviceCIDR: String = "10.96.0.0/12",
        certificateNames: String = "IP:127.0.0.1,IP:::1,DNS:localhost"
    ) async throws {
        directory = NSTemporaryDirectory() + "nsm-apiserver-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let python = "\(Self.root)/.venv-test/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw KubernetesConfigurationError("\(python) is missing: run scripts/install-deps.sh (the README's test command does)")
        }
        let notifications = try NotificationSocket(path: "\(directory)/notify")
        defer { notifications.close() }
        process = try ChildProcess(
            [python, "\(Self.root)/Tests/KubernetesAPIServer/apiserver.py", "--dir", directory, "--watch-seconds", "\(watchSeconds)",
             "--history", "\(history)", "--bookmark-seconds", "\(bookmarkSeconds)", "--service-cidr", serviceCIDR, "--names", certificateNames],
            environment: ["NOTIFY_SOCKET": notifications.path], output: .file("\(directory)/server.log"))
        let ready = notifications.ready, exited = process.exited, log = "\(directory)/server.log"
        let status: String = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await ready.wait() }
            group.addTask {
                let code = try await exited.wait()
                throw KubernetesConfigurationError("the test API server exited (\(code)): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw KubernetesConfigurationError("the test API server did not start within 30 s")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        guard let port = Int(status.split(separator: " ").last ?? "") else { throw KubernetesConfigurationError("unexpected status \(status)") }
        self.port = port
    }

    public var kubeconfig: String { "\(directory)/kubeconfig" }

    public func connection() throws -> KubernetesConnection { try KubernetesConnection.kubeconfig(paths: [kubeconfig]) }

    public func client(queriesPerSecond: Double = 1000, burst: Int = 1000) throws -> KubernetesClient {
        try KubernetesClient(connection: connection(), queriesPerSecond: queriesPerSecond, burst: burst)
    }

    /// Has the server forget its event history (as etcd compaction does): older versions get 410.
    public func compact() throws { try control("compact") }

    /// Ends every open watch with `410 Expired` before it delivers anything newer.
    public func expireWatches() throws { try control("expire-watches") }

    /// One of the server's test controls (`/__test/…`), called with curl (not the client under test).
    @discardableResult
    public func control(_ name: String) throws -> String {
        try ChildProcess.run("/usr/bin/curl", ["-sf", "--cacert", "\(directory)/ca.crt", "-H", "Authorization: Bearer test-token",
                                               "https://127.0.0.1:\(port)/__test/\(name)"])
    }

    /// Stops the server and removes its files.
    public func stop() async {
        await process.stop(grace: .seconds(2))
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` with a started server and always stops it.
    public static func with<T: Sendable>(
        watchSeconds: Double = 1800, history: Int = 10000, bookmarkSeconds: Double = 1, serviceCIDR: String = "10.96.0.0/12",
        certificateNames: String = "IP:127.0.0.1,IP:::1,DNS:localhost", _ body: (TestAPIServer) async throws -> T
    ) async throws -> T {
        let server = try await TestAPIServer(watchSeconds: watchSeconds, history: history, bookmarkSeconds: bookmarkSeconds, serviceCIDR: serviceCIDR,
                                             certificateNames: certificateNames)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
