import ArgumentParser
import Foundation

/// What every `nsm bench` command checks and prints the same way.
enum BenchSupport {
    /// Refuses to run without root (the benchmarks create network namespaces).
    static func requireRoot(_ command: String) throws {
        guard getuid() == 0 else { throw ValidationError("nsm bench \(command) creates network namespaces: run it as root") }
    }

    /// `--sizes`: comma-separated pod counts, each 1...`maximum`.
    static func sizes(_ text: String, maximum: Int) throws -> [Int] {
        try text.split(separator: ",").map { item -> Int in
            guard let value = Int(item.trimmingCharacters(in: .whitespaces)), value > 0, value <= maximum else {
                throw ValidationError("--sizes: \"\(item)\" is not a pod count between 1 and \(maximum)")
            }
            return value
        }
    }

    /// Progress lines, on standard error (the results go to standard output).
    static let progress: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
