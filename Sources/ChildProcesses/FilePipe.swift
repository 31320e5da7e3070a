import Foundation
import Glibc

/// A pipe's two descriptors (close-on-exec: a child gets only what it is given explicitly).
struct FilePipe {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        read = fds[0]
        write = fds[1]
    }

    /// Reads `fd` to its end and closes it.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        close(fd)
        return result
    }
}

/// Reads a descriptor to its end on a thread of its own.
final class Drain: @unchecked Sendable {
    // @unchecked: `bytes` is written by the thread before `done` is signalled and read after.
    private var bytes: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        let thread = Thread { [self] in
            bytes = FilePipe.readAll(fd)
            done.signal()
        }
        thread.start()
    }

    /// Waits for the end of the data and returns it.
    func finish() -> [UInt8] {
        done.wait()
        return bytes
    }
}
