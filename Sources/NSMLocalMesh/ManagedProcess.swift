import Foundation
import Glibc
public import Netlink

/// An `nsm` child process started inside a network namespace, with its output in a log file.
public final class ManagedProcess: @unchecked Sendable {
    // @unchecked: `process` is only read after it started; Foundation's Process is thread-safe
    // for isRunning/terminate/processIdentifier.
    public let name: String
    public let logPath: String
    let process: Process

    /// Starts `executable arguments…` inside `namespace` (spawned from a thread switched into it,
    /// so the child begins life there).
    public init(name: String, executable: String, arguments: [String], namespace: NetworkNamespace?, logDirectory: String,
                environment: [String: String] = [:]) throws {
        self.name = name
        logPath = "\(logDirectory)/\(name).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        if let namespace {
            try namespace.run { try process.run() }
        } else {
            try process.run()
        }
        self.process = process
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The log so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text` (e.g. "listening on"); throws with the log if the
    /// process exits or the time runs out.
    public func waitFor(_ text: String, seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return }
            if !process.isRunning { throw LocalMeshError("\(name) exited before \"\(text)\":\n\(output)") }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw LocalMeshError("\(name) did not print \"\(text)\" within \(Int(seconds)) s:\n\(output)")
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the exit.
    public func stop(grace: Double = 10) async {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(pid, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// SIGKILL, like a crash; waits for the exit.
    public func crash() async {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
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

/// Runs a command inside a namespace and returns its exit status and output.
public func runIn(_ namespace: NetworkNamespace, _ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    return try runCapturing(process) { started in try namespace.run { try started.run() } }
}

/// Starts `process` with `launch`, waits for it, and returns its status and combined output.
func runCapturing(_ process: Process, launch: (Process) throws -> Void = { try $0.run() }) throws -> (status: Int32, output: String) {
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try launch(process)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
