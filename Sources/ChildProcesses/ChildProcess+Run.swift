import Foundation
import Glibc

extension ChildProcess {
    /// A command that exited with a status other than 0.
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var output: String
        public var description: String { "\(command) exited \(status): \(output)" }

        public init(command: String, status: Int32, output: String) {
            self.command = command
            self.status = status
            self.output = output
        }
    }

    /// Runs `executable arguments…` to completion from the calling thread (so in its network
    /// namespace), with `input` on standard input; returns its standard output, or throws
    /// ``Failure`` with both outputs when it exits with a status other than 0.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let result = try capture(executable, arguments, environment: environment, input: input)
        guard result.status == 0 else {
            throw Failure(command: ([executable] + arguments).joined(separator: " "), status: result.status, output: result.output + result.errors)
        }
        return result.output
    }

    /// Runs `executable arguments…` to completion; returns its status and outputs, whatever the status.
    public static func capture(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil
    ) throws -> (status: Int32, output: String, errors: String) {
        let stdin = try FilePipe(), stdout = try FilePipe(), stderr = try FilePipe()
        let child: ChildProcess
        do {
            child = try ChildProcess([executable] + arguments, environment: environment, output: .inherit,
                                     stdin: stdin.read, stdout: stdout.write, stderr: stderr.write)
        } catch {
            for fd in [stdin.read, stdin.write, stdout.read, stdout.write, stderr.read, stderr.write] { close(fd) }
            throw error
        }
        close(stdin.read)
        close(stdout.write)
        close(stderr.write)
        // Input and error output on threads of their own, so no pipe fills while another is read.
        let writer = Thread { [bytes = Array((input ?? "").utf8)] in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(stdin.write, $0.baseAddress, $0.count) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { break }
                offset += written
            }
            close(stdin.write)
        }
        writer.start()
        let errors = Drain(fd: stderr.read)
        let output = FilePipe.readAll(stdout.read)
        let status = child.waitUntilExit()
        return (status, String(decoding: output, as: UTF8.self), String(decoding: errors.finish(), as: UTF8.self))
    }

    /// The path of `name` in the usual system directories, if present.
    public static func find(_ name: String, in directories: [String] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/lib/cni", "/opt/cni/bin"]) -> String? {
        directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
