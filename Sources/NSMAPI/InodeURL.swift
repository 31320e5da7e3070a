/// A network namespace named the way NSM puts it on the wire: `inode://<st_dev>/<st_ino>`
/// (decimal), or locally as a `file://` path to a namespace file.
public enum NamespaceURL: Sendable, Hashable, CustomStringConvertible {
    /// `inode://<dev>/<ino>`: identifies the namespace by the device and inode of its file.
    case inode(device: UInt64, inode: UInt64)
    /// `file:///proc/<pid>/ns/net` or a bind mount such as `/run/netns/<name>`.
    case file(path: String)

    /// Parses `inode://dev/ino` or `file:///abs/path`.
    public init?(_ text: String) {
        if text.hasPrefix("inode://") {
            let parts = text.dropFirst("inode://".count).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
            self = .inode(device: device, inode: inode)
        } else if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard path.hasPrefix("/") else { return nil }
            self = .file(path: path)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .inode(let device, let inode): "inode://\(device)/\(inode)"
        case .file(let path): "file://\(path)"
        }
    }

    /// The URL a process uses for its own thread's namespace before `sendfd` rewrites it.
    public static let currentThread = NamespaceURL.file(path: "/proc/thread-self/ns/net")
}
