import Foundation
import Glibc
import Synchronization

/// systemd's readiness protocol, the receiving side: a unix datagram socket at `path` (pass it
/// to a child as `NOTIFY_SOCKET`) whose `READY=1` message resolves ``ready`` with the message's
/// `STATUS=`. A thread of its own blocks in `recv`; ``close()`` ends it.
///
/// The descriptor is the thread's to close, and is shut down (to wake the thread) only while it
/// is still open: once closed, its number may already belong to another socket — shutting that
/// one down stopped another process's readiness from ever arriving.
public final class NotificationSocket: Sendable {
    public let path: String
    /// Resolved with the child's status once it sends `READY=1`.
    public let ready = ReadySignal<String>()
    /// Resolved once the receiving thread has closed the socket (after ``close()``).
    public let stopped = ReadySignal<Void>()
    /// The socket while it is open; nil once the receiving thread has closed it.
    private let descriptor: Descriptor

    private final class Descriptor: Sendable {
        let fd: Mutex<Int32?>
        init(_ fd: Int32) { self.fd = Mutex(fd) }
        /// Wakes the receiving thread, if the socket is still open.
        func shutDown() { fd.withLock { if let fd = $0 { _ = shutdown(fd, Int32(SHUT_RDWR)) } } }
        /// Closes the socket; after this nothing touches its number.
        func close() {
            fd.withLock { fd in
                if let open = fd { Glibc.close(open) }
                fd = nil
            }
        }
    }

    public init(path: String) throws {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NotificationSocketError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw NotificationSocketError("\(path): path too long for a unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let problem = String(cString: strerror(errno))
            Glibc.close(fd)
            throw NotificationSocketError("bind \(path): \(problem)")
        }
        self.path = path
        let descriptor = Descriptor(fd)
        self.descriptor = descriptor
        let ready = self.ready, stopped = self.stopped
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }  // shut down
                let lines = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n")
                guard lines.contains("READY=1") else { continue }
                let status = lines.first { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst(7)) } ?? ""
                ready.resolve(status)
            }
            descriptor.close()
            stopped.resolve(())
        }
        thread.name = "nsm-notify"
        thread.start()
    }

    /// Stops receiving (the receiving thread closes the socket) and removes the socket file.
    public func close() {
        descriptor.shutDown()
        unlink(path)
    }

    deinit { descriptor.shutDown() }
}

public struct NotificationSocketError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
