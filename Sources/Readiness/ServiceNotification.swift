import Glibc

/// systemd's readiness protocol (`sd_notify`), the sending side: when `NOTIFY_SOCKET` names a
/// unix datagram socket, a component sends `READY=1` (and a `STATUS=` line) there once it
/// serves. Under systemd (`Type=notify`) and under the local mesh's supervisor alike, "started"
/// then means ready, not "printed a line".
public enum ServiceNotification {
    /// Sends `READY=1` with `status`; does nothing without `NOTIFY_SOCKET`. Returns whether it was sent.
    @discardableResult
    public static func ready(status: String) -> Bool {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return false }
        return send("READY=1\nSTATUS=\(status)\n", to: path)
    }

    static func send(_ message: String, to path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // A leading '@' names an abstract socket (as systemd allows).
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count + (bytes.first == 0 ? 0 : 1))
        let sent = message.utf8CString.withUnsafeBytes { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text.baseAddress, text.count - 1, 0, $0, length) }
            }
        }
        return sent >= 0
    }
}
