import Glibc
import Synchronization

/// A child process started with `posix_spawn` and reaped with our own `waitpid` (Foundation's
/// Process reaps children from a shared monitor thread, which has been seen to block on one
/// child while another had exited). Output goes to a file.
public final class SpawnedProcess: Sendable {
    public let pid: pid_t
    public let command: String
    /// The raw wait status, once reaped (by whoever reaps first).
    private let status = Mutex<Int32?>(nil)

    /// Starts `argv` (argv[0] a path), stdout and stderr appended to `output`.
    public init(_ argv: [String], output: String) throws {
        command = argv.joined(separator: " ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The child starts with no blocked signals and default handlers (the spawning thread,
        // a Swift concurrency or Dispatch thread, blocks most signals, SIGTERM included).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, &cArguments, environ)
        guard result == 0 else { throw Subprocess.Failure(command: command, status: result, output: String(cString: strerror(result))) }
        self.pid = pid
    }

    /// The exit status if it has exited (reaps it), else nil.
    public var exitStatus: Int32? {
        status.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Waits for the exit and returns the raw wait status.
    @discardableResult
    public func wait() -> Int32 {
        status.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                while waitpid(pid, &raw, 0) == -1, errno == EINTR {}
                status = raw
            }
            return status!
        }
    }

    /// SIGTERM and wait.
    public func stop() {
        if isRunning { kill(pid, SIGTERM) }
        wait()
    }
}
