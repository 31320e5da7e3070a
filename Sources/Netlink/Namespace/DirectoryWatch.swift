import Glibc

/// Names added to and removed from one directory since the last look, through `inotify`
/// (non-blocking: a look never waits). Used by ``NamespaceResolver`` so that finding a new
/// namespace under `/run/netns` does not read the whole directory on a node with a thousand pods.
///
/// Not thread-safe: the resolver uses it under its lock.
final class DirectoryWatch {
    /// What happened since the last look.
    struct Changes {
        /// Names in the order they came and went (a name may be removed and added again).
        var events: [(name: String, added: Bool)] = []
        /// The kernel dropped events (its queue overflowed) or the directory itself went away:
        /// what is known about the directory must be read again.
        var lost = false
    }

    private let descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    /// Watches `directory`; nil when inotify is not available (no such directory, or the
    /// per-user limit of inotify instances reached) — callers then read the directory.
    init?(directory: String) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF)
        guard inotify_add_watch(descriptor, directory, mask) >= 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Everything queued since the last call.
    func changes() -> Changes {
        var changes = Changes()
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            Self.parse(buffer[0..<count], into: &changes)
        }
        return changes
    }

    /// Reads the `inotify_event` records in `bytes` (header: wd, mask, cookie, len; then a
    /// NUL-padded name of `len` bytes).
    static func parse(_ bytes: ArraySlice<UInt8>, into changes: inout Changes) {
        let header = MemoryLayout<inotify_event>.size
        var offset = bytes.startIndex
        while offset + header <= bytes.endIndex {
            let mask = UInt32(bytes[offset + 4]) | UInt32(bytes[offset + 5]) << 8 | UInt32(bytes[offset + 6]) << 16 | UInt32(bytes[offset + 7]) << 24
            let length = Int(UInt32(bytes[offset + 12]) | UInt32(bytes[offset + 13]) << 8 | UInt32(bytes[offset + 14]) << 16 | UInt32(bytes[offset + 15]) << 24)
            let nameStart = offset + header, nameEnd = min(bytes.endIndex, nameStart + length)
            let nameBytes = bytes[nameStart..<nameEnd].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if mask & UInt32(IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                changes.lost = true
            } else if !name.isEmpty {
                if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { changes.events.append((name, true)) }
                if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 { changes.events.append((name, false)) }
            }
            offset = nameEnd
        }
    }
}
