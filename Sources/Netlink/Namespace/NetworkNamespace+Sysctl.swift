import Glibc

extension NetworkNamespace {
    /// Writes a namespaced sysctl inside this namespace, e.g.
    /// `setSysctl(["net", "ipv6", "conf", "nsm-1", "disable_ipv6"], "0")`. Components are
    /// given separately because interface names may contain dots.
    ///
    /// Equivalent to `ip netns exec NS sysctl -w KEY=VALUE`.
    public func setSysctl(_ components: [String], _ value: String) throws(NetlinkError) {
        let path = "/proc/sys/" + components.joined(separator: "/")
        try perform { () throws(NetlinkError) -> Void in try Self.write(value, to: path) }
    }

    /// Writes a dotted sysctl key such as `net.ipv4.ping_group_range` inside this namespace.
    public func setSysctl(_ key: String, _ value: String) throws(NetlinkError) {
        try setSysctl(key.split(separator: ".").map(String.init), value)
    }

    /// Writes `/proc/sys/<path>` in the calling thread's namespace — for work already running
    /// inside one (see ``NetlinkHandle/init(namespace:alsoInside:)``).
    public static func writeSysctl(_ path: String, _ value: String) throws(NetlinkError) {
        try write(value, to: "/proc/sys/" + path)
    }

    /// Reads a namespaced sysctl inside this namespace.
    public func sysctl(_ components: [String]) throws(NetlinkError) -> String {
        let path = "/proc/sys/" + components.joined(separator: "/")
        return try perform { () throws(NetlinkError) -> String in try Self.read(path) }
    }

    static func write(_ value: String, to path: String) throws(NetlinkError) {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError.fromErrno("sysctl -w \(path)") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw NetlinkError.fromErrno("sysctl -w \(path)=\(value)") }
    }

    static func read(_ path: String) throws(NetlinkError) -> String {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError.fromErrno("sysctl \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = Glibc.read(fd, &buffer, buffer.count)
        guard count >= 0 else { throw NetlinkError.fromErrno("sysctl \(path)") }
        return String(decoding: buffer[0..<count], as: UTF8.self).trimmingTrailingNewlines()
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var result = Substring(self)
        while result.last == "\n" { result = result.dropLast() }
        return String(result)
    }
}
