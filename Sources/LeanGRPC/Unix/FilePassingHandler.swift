#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization

/// The client half of passing a file over a unix socket as upstream's grpcfd does: the
/// connection's first outgoing byte is sent with the file attached (`SCM_RIGHTS`), the rest of
/// the stream as usual. Sits at the head of the pipeline of a socket this process connected
/// itself; closes its copy of the file once sent (or when the connection closes first).
final class FilePassingHandler: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let socket: Int32
    private let file: PassedFile

    init(socket: Int32, file: PassedFile) {
        self.socket = socket
        self.file = file
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes > 0, let file = file.take() else {
            context.write(data, promise: promise)
            return
        }
        defer { Glibc.close(file) }
        do {
            // Nothing was written on this socket before: one byte always fits.
            let sent = try buffer.withUnsafeReadableBytes { bytes throws(SocketFailure) in
                try AncillaryFiles.send(UnsafeRawBufferPointer(rebasing: bytes.prefix(1)), on: socket, passing: file)
            }
            buffer.moveReaderIndex(forwardBy: sent)
        } catch {
            promise?.fail(error)
            context.close(promise: nil)
            return
        }
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        file.close()
    }
}

/// A descriptor to pass once, closed exactly once: by whoever sent it, or by whoever gives up.
final class PassedFile: Sendable {
    private let descriptor: Mutex<Int32?>

    init(_ descriptor: Int32) { self.descriptor = Mutex(descriptor) }

    /// The descriptor, handed over to the caller (who closes it); `nil` once taken or closed.
    func take() -> Int32? { descriptor.withLock { value in defer { value = nil }; return value } }

    func close() {
        if let descriptor = take() { Glibc.close(descriptor) }
    }
}

/// Connects a unix stream socket to `path` (the caller hands it to SwiftNIO, which then owns it).
func connectUnixSocket(to path: String) throws(SocketFailure) -> Int32 {
    // Non-blocking: a server whose backlog is full makes this fail (EAGAIN) rather than wait.
    let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard socket >= 0 else { throw SocketFailure(operation: "socket", errno: errno) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(socket)
        throw SocketFailure(operation: "connect \(path)", errno: ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: path.utf8)
        raw[path.utf8.count] = 0
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
        let failure = SocketFailure(operation: "connect \(path)", errno: errno)
        close(socket)
        throw failure
    }
    return socket
}
