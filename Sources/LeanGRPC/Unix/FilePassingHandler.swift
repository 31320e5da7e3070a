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
