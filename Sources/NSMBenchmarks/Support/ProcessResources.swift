import Foundation

/// A process's resident memory in kilobytes (`VmRSS` of `/proc/<pid>/status`); 0 when it is gone.
public func processResidentKilobytes(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(whereSeparator: \.isWhitespace)[1]) ?? 0
}

/// How many file descriptors a process holds open (entries of `/proc/<pid>/fd`); 0 when it is gone.
public func processOpenDescriptors(_ pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
}
