public import ChildProcesses
import Foundation
import Glibc
public import Netlink
import Readiness

/// An `nsm` component the local mesh runs as a child process inside a network namespace, with
/// its output in a log file. It says when it is ready by systemd's protocol (`READY=1` on the
/// socket named by `NOTIFY_SOCKET`, see ``ServiceNotification``), not by a line in its log.
public final class ManagedProcess: Sendable {
    public let name: String
    public let logPath: String
    let child: ChildProcess
    let notifications: NotificationSocket

    /// Starts `executable arguments…` inside `namespace` (spawned from a thread switched into it,
    /// so the child begins life there).
    public init(name: String, executable: String, arguments: [String], namespace: NetworkNamespace?, logDirectory: String,
                environment: [String: String] = [:]) throws {
        self.name = name
        logPath = "\(logDirectory)/\(name).log"
        let notifications = try NotificationSocket(path: "\(logDirectory)/\(name).notify")
        var environment = environment
        environment["NOTIFY_SOCKET"] = notifications.path
        let argv = [executable] + arguments, output = ChildProcess.Output.file(logPath), variables = environment
        do {
            child = try namespace.map { try $0.run { try ChildProcess(argv, environment: variables, output: output) } }
                ?? ChildProcess(argv, environment: variables, output: output)
        } catch {
            notifications.close()
            throw error
        }
        self.notifications = notifications
    }

    public var pid: Int32 { child.pid }
    public var isRunning: Bool { child.isRunning }

    /// The log so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until the process says it is ready; returns its status line. Throws with the log if it
    /// exits first or the time runs out.
    @discardableResult
    public func ready(within limit: Duration = .seconds(30)) async throws -> String {
        let name = self.name, child = self.child, ready = notifications.ready
        let outcome: String? = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await ready.wait() }
            group.addTask {
                let status = try await child.exited.wait()
                throw LocalMeshError("\(name) exited (status \(status)) before it was ready")
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        notifications.close()
        guard let outcome else { throw LocalMeshError("\(name) was not ready within \(limit):\n\(output)") }
        return outcome
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once it has exited.
    public func stop(grace: Duration = .seconds(10)) async {
        notifications.close()
        await child.stop(grace: grace)
    }

    /// SIGKILL, like a crash; returns once it has exited.
    public func crash() async {
        notifications.close()
        child.signal(SIGKILL)
        _ = await child.exitStatus()
    }
}

public struct LocalMeshError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The path of the running `nsm` executable.
public func currentExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return CommandLine.arguments[0] }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Runs a command inside a namespace and returns its exit status and output (standard output,
/// then standard error).
public func runIn(
    _ namespace: NetworkNamespace, _ executable: String, _ arguments: [String], environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
    let result = try namespace.run { try ChildProcess.capture(executable, arguments, environment: environment) }
    return (result.status, result.output + result.errors)
}
