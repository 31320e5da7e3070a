import Foundation
import Glibc

/// A child command started with the signal state a shell gives it: an empty signal mask and
/// default dispositions (this process may have signals blocked or handled for its own use —
/// a child inheriting that mask could only be stopped with SIGKILL). Its exit is awaited
/// without polling, on a thread of its own blocked in `waitpid`.
public final class ChildProcess: Sendable {
    public let pid: pid_t

    /// Starts `argv` (looked up on PATH) with this process's environment and standard streams.
    public init(_ argv: [String]) throws {
        guard let executable = argv.first else { throw LocalMeshError("no command to run") }
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
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, executable, nil, &attributes, &cArguments, environ)
        guard status == 0 else { throw LocalMeshError("cannot start \(executable): \(String(cString: strerror(status)))") }
        pid = child
    }

    /// Sends `signal` to the child (ignored once it has exited).
    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the exit; returns the status as a shell reports it (128 + signal when killed).
    public func exitStatus() async -> Int32 {
        let pid = self.pid
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                let exited = status & 0x7f == 0
                continuation.resume(returning: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
            thread.name = "nsm-wait-\(pid)"
            thread.start()
        }
    }
}
