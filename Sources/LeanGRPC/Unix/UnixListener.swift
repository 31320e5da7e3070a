#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import Synchronization

/// Listens on a unix socket and accepts its connections itself, on a thread of its own, so that
/// each connection comes with what the kernel says about its peer — SwiftNIO's server channels
/// give neither the peer's credentials nor ancillary data. For each connection: the peer's
/// credentials and network namespace when it connected (`SO_PEERCRED`, `/proc/<pid>/ns/net`),
/// then, once its first bytes arrive, the namespaces it passed with them (`SCM_RIGHTS`, peeked:
/// the bytes stay for the connection's reader). The connected socket is then handed over.
///
/// Connections whose first bytes are slow to come wait side by side (one `poll` for all of them):
/// a client that connects and says nothing delays nobody; after ``firstBytesWait`` it is handed
/// over without passed namespaces.
final class UnixListener: Sendable {
    typealias Deliver = @Sendable (_ socket: Int32, _ credentials: UnixPeerCredentials) -> Void

    let path: String
    private let socket: Int32
    /// A pipe whose read end the thread polls; a byte written to it means stop.
    private let wake: Int32, wakeWriter: Int32
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let stopped = Mutex(false)
    static let firstBytesWait: Duration = .seconds(10)
    static let maximumWaiting = 1024

    /// Binds and listens (a socket file left at `path` by an earlier process is replaced).
    init(path: String) throws(SocketFailure) {
        self.path = path
        var existing = stat()
        if lstat(path, &existing) == 0, (existing.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        let socket = try unixSocket(path, "bind") { bind($0, $1, $2) }
        guard listen(socket, 1024) == 0 else {
            let failure = SocketFailure(operation: "listen \(path)", errno: errno)
            close(socket)
            throw failure
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            let failure = SocketFailure(operation: "pipe", errno: errno)
            close(socket)
            throw failure
        }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        self.socket = socket
        self.wake = pipeEnds[0]
        self.wakeWriter = pipeEnds[1]
    }

    /// Starts accepting; `deliver` gets each connection (on the listener's thread).
    func start(_ deliver: @escaping Deliver) {
        thread.start()
        thread.submit { [self] _ in loop(deliver) }
    }

    /// Stops accepting and closes the listening socket; connections already handed over stay.
    func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
        thread.shutdownGracefully { _ in }
    }

    var isStopped: Bool { stopped.withLock { $0 } }

    private struct Waiting {
        var socket: Int32
        var credentials: UnixPeerCredentials
        var deadline: ContinuousClock.Instant
    }

    private func loop(_ deliver: Deliver) {
        var waiting: [Waiting] = []
        defer {
            for connection in waiting { close(connection.socket) }
            close(socket)
            close(wake)
            close(wakeWriter)
        }
        while true {
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            descriptors += waiting.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            let now = ContinuousClock.now
            let timeout = waiting.map(\.deadline).min().map { deadline -> Int32 in
                let (seconds, attoseconds) = max(.zero, deadline - now).components
                return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            } ?? -1
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0, errno != EINTR { return }
            if descriptors[0].revents != 0 { return }
            // Waiting connections first (their indices shift once new ones are added).
            var still: [Waiting] = []
            let after = ContinuousClock.now
            for (index, connection) in waiting.enumerated() {
                let events = descriptors[index + 2].revents
                if events & Int16(POLLIN) != 0 {
                    guard let passed = AncillaryFiles.peekNetworkNamespaces(on: connection.socket) else {
                        close(connection.socket)  // gone before saying anything
                        continue
                    }
                    var credentials = connection.credentials
                    credentials.passedNetworkNamespaces = passed
                    deliver(connection.socket, credentials)
                } else if events != 0 {
                    close(connection.socket)  // hung up or failed before saying anything
                } else if after >= connection.deadline {
                    deliver(connection.socket, connection.credentials)
                } else {
                    still.append(connection)
                }
            }
            waiting = still
            if descriptors[1].revents & Int16(POLLIN) != 0 {
                while true {
                    let accepted = accept(socket, nil, nil)
                    guard accepted >= 0 else { break }
                    _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
                    guard let credentials = UnixPeerCredentials.of(socket: accepted) else {
                        close(accepted)
                        continue
                    }
                    if waiting.count >= Self.maximumWaiting {
                        let oldest = waiting.removeFirst()
                        deliver(oldest.socket, oldest.credentials)
                    }
                    waiting.append(Waiting(socket: accepted, credentials: credentials, deadline: after + Self.firstBytesWait))
                }
            }
        }
    }
}
