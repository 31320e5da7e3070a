import ChildProcesses
import Foundation
import Glibc
import Testing

@Suite("Child processes")
struct ChildProcessTests {
    @Test("run returns standard output; a failure names the command, its status and both outputs")
    func runToCompletion() throws {
        #expect(try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2"]) == "out\n")
        let error = #expect(throws: ChildProcess.Failure.self) { try ChildProcess.run("/bin/sh", ["-c", "echo partial; echo why >&2; exit 3"]) }
        #expect(error?.status == 3 && error?.output == "partial\nwhy\n" && error?.command.hasPrefix("/bin/sh") == true)
    }

    @Test("input and output larger than a pipe's buffer pass through without blocking")
    func largeInput() throws {
        let input = String(repeating: "0123456789abcdef\n", count: 20_000)  // 340 kB
        let output = try ChildProcess.run("/bin/cat", [], input: input)
        #expect(output == input)
    }

    @Test("a child starts with default signal handling: SIGTERM ends it, and the status says so")
    func signals() async throws {
        let child = try ChildProcess(["/bin/sleep", "30"])
        #expect(child.isRunning)
        child.signal(SIGTERM)
        #expect(await child.exitStatus() == 128 + SIGTERM)
        #expect(!child.isRunning)
    }

    @Test("stop escalates to SIGKILL for a child that ignores SIGTERM")
    func stopEscalates() async throws {
        let directory = NSTemporaryDirectory() + "nsm-child-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The child says (in its log) once its trap is set, so the TERM surely finds it ignoring.
        let log = "\(directory)/out.log"
        let child = try ChildProcess(["/bin/sh", "-c", "trap '' TERM; echo trapped; exec sleep 30"], output: .file(log))
        let deadline = Date().addingTimeInterval(10)
        while (try? String(contentsOfFile: log, encoding: .utf8))?.contains("trapped") != true, Date() < deadline {
            // Waiting on a condition with a deadline; the child has nothing to signal readiness with.
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await child.stop(grace: .milliseconds(300)) == 128 + SIGKILL)
    }

    @Test("a command that cannot be started is an error naming it")
    func missing() {
        let error = #expect(throws: ChildProcessError.self) { try ChildProcess(["/nonexistent/nsm-tool"]) }
        #expect(error?.description.contains("/nonexistent/nsm-tool") == true)
    }
}

extension ChildProcessTests {
    @Test("the child gets standard input, output and error only, not this process's other descriptors")
    func descriptors() throws {
        // A descriptor without close-on-exec, as some libraries leave their sockets.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC == 0)
        let open = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/self/fd"])
        #expect(open.split(separator: "\n").compactMap { Int($0) }.filter { $0 > 3 }.isEmpty, "the child sees: \(open)")
    }
}
