import Foundation
import Glibc
import Netlink
import Synchronization
import Testing

/// Whether the tests run as root (the kernel tests need CAP_NET_ADMIN and CAP_SYS_ADMIN).
let isRoot = getuid() == 0

private let counter = Atomic<Int>(0)

/// A fresh, uniquely named network namespace for one test, deleted afterwards even when the
/// test fails. Names look like `nlt-<pid>-<n>` so leftovers are easy to attribute.
func withTestNamespace<T>(_ body: (_ name: String, _ namespace: NetworkNamespace, _ handle: NetlinkHandle) throws -> T) throws -> T {
    let name = "nlt-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
    let namespace = try NetworkNamespace.create(named: name)
    defer { try? NetworkNamespace.delete(named: name) }
    let handle = try NetlinkHandle(namespace: namespace)
    return try body(name, namespace, handle)
}

/// Runs `ip` with the given arguments and returns its standard output; throws on failure.
@discardableResult
func ip(_ arguments: String...) throws -> String {
    try run("/usr/sbin/ip", arguments)
}

func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: FileManager.default.fileExists(atPath: executable) ? executable : "/sbin/ip")
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolError(command: ([executable] + arguments).joined(separator: " "), output: String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

struct ToolError: Error, CustomStringConvertible {
    var command: String
    var output: String
    var description: String { "\(command) failed: \(output)" }
}

/// `ip -j -n NS ARGS…` parsed as a JSON array of objects.
func ipJSON(_ namespace: String, _ arguments: String...) throws -> [[String: Any]] {
    let text = try run("/usr/sbin/ip", ["-j", "-d", "-n", namespace] + arguments)
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return object as? [[String: Any]] ?? []
}
