import Foundation
import Glibc
public import Readiness

/// A child process, started with `posix_spawn` from the calling thread (so it begins life in
/// that thread's network namespace) with the signal state a shell gives it: an empty signal mask
/// and default dispositions (this process blocks or handles signals for its own use; a child
/// inheriting that could only be stopped with SIGKILL). Its exit is awaited without polling, by
/// a thread of its own blocked in `waitpid` (Foundation's Process reaps from a shared monitor
/// thread, which has been seen to block on one child while another had exited). The child gets
/// standard input, output and error only: every other descriptor is closed in it.
///
/// The one way this project starts processes: the local mesh's components, `nsm run`'s
/// command, benchmark peers, and commands run to completion (``run(_:_:environment:input:)``).
public final class ChildProcess: Sendable {
    /// Where the child's standard output and error go.
    public enum Output: Sendable {
        /// This process's own.
        case inherit
        /// Appended to a file.
        case file(String)
    }

    public let pid: pid_t
    public let command: String
    /// Resolved with the exit status as a shell reports it (128 + signal when killed).
    public let exited = ReadySignal<Int32>()
    /// Broadcast once ``exited`` is resolved, for callers that must block a thread (``run(_:_:environment:input:)``).
    private let exit = NSCondition()

    /// Starts `argv` (looked up on PATH when not a path) with this process's environment plus
    /// `environment`, standard input from /dev/null unless inherited.
    public convenience init(_ argv: [String], environment: [String: String] = [:], output: Output = .inherit) throws {
        try self.init(argv, environment: environment, output: output, stdin: nil)
    }

    init(_ argv: [String], environment: [String: String], output: Output, stdin: Int32?, stdout: Int32? = nil, stderr: Int32? = nil) throws {
        guard let executable = argv.first else { throw ChildProcessError("no command to run") }
        command = argv.joined(separator: " ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        if case .file(let path) = output {
            if stdin == nil { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        // Nothing else of this process reaches the child: a descriptor without close-on-exec (a
        // listening socket, say) would otherwise live on in it, and the port with it.
        Self.closeFrom(3, in: &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments + cEnvironment { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, executable, &actions, &attributes, &cArguments, &cEnvironment)
        guard status == 0 else { throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(status)))") }
        pid = child
        let exited = self.exited, exit = self.exit, spawned = child
        let thread = Thread {
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) < 0, errno == EINTR {}
            let normal = status & 0x7f == 0
            exit.lock()
            exited.resolve(normal ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            exit.broadcast()
            exit.unlock()
        }
        thread.name = "nsm-wait-\(spawned)"
        thread.start()
    }

    public var isRunning: Bool { exited.value == nil }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; the Glibc module does not
    /// export it), found at run time.
    private static let addCloseFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")  // nil: RTLD_DEFAULT on glibc
        .map { unsafeBitCast($0, to: CloseFrom.self) }

    /// Has the child close every descriptor from `lowest` up; on an older glibc, marks this
    /// process's descriptors close-on-exec instead.
    private static func closeFrom(_ lowest: Int32, in actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom, addCloseFrom(&actions, lowest) == 0 { return }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let fd = Int32(entry), fd >= lowest else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Sends `signal` to the child (ignored once it has exited).
    public func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// Waits for the exit; returns the status as a shell reports it (128 + signal when killed).
    public func exitStatus() async -> Int32 {
        // The waiting thread always resolves it; only cancellation ends the wait early.
        (try? await exited.wait()) ?? -1
    }

    /// Blocks the calling thread until the child exited; returns the status.
    public func waitUntilExit() -> Int32 {
        exit.lock()
        defer { exit.unlock() }
        while exited.value == nil { exit.wait() }
        return exited.value ?? -1
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once it has exited.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32 {
        signal(SIGTERM)
        let exited = self.exited
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await exited.wait()) != nil }
            group.addTask {
                try? await Task.sleep(for: grace)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !stopped { signal(SIGKILL) }
        return await exitStatus()
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
