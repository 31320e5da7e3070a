public import GRPCCore
public import NIOCore
public import SwiftProtobuf

/// Server-streaming calls (monitor streams), on the same connection as the unary ones.
extension LeanGRPCClient {
    /// Calls server-streaming `path` with `request` and hands each response message to `body`, in
    /// order, as it arrives. Returns when the server ends the stream with OK; throws `RPCError`
    /// with the server's status, `.unavailable` when the connection goes, `CancellationError`
    /// when the calling task is cancelled (the stream is then reset). A stream the server never
    /// started (GOAWAY, refused) is opened once more on a new connection.
    public func serverStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String, _ request: Request, as: Response.Type = Response.self, metadata: CallMetadata = [], _ body: (Response) async throws -> Void
    ) async throws {
        let bytes: [UInt8]
        do { bytes = try request.serializedBytes() } catch {
            throw RPCError(code: .internalError, message: "cannot serialize \(Request.protoMessageName): \(error)")
        }
        let message = GRPCFraming.lengthPrefixed(bytes, allocator: .init())
        for attempt in 1...2 {
            var received = false
            do {
                try await streamAttempt(path, message, metadata: metadata) { bytes in
                    received = true
                    let response: Response
                    do { response = try bytes.withUnsafeReadableBytes { try Response(serializedBytes: Array($0)) } } catch {
                        throw RPCError(code: .internalError, message: "cannot parse a stream message as \(Response.protoMessageName): \(error)")
                    }
                    try await body(response)
                }
                return
            } catch let unprocessed as UnprocessedCall {
                guard attempt == 1, !received else { throw RPCError(code: .unavailable, message: unprocessed.reason) }
            }
        }
    }

    private func streamAttempt(_ path: String, _ message: ByteBuffer, metadata: CallMetadata, _ body: (ByteBuffer) async throws -> Void) async throws {
        let connection = try await connection()
        let (messages, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(ClientStreamsHandler.streamBufferLimit))
        let authority = target.authority
        let started = connection.channel.eventLoop.submit {
            connection.streams.value.startStream(path: path, authority: authority, metadata: metadata, message: message, messages: continuation)
        }
        let id = try await started.get()
        // However the loop ends (done, the body threw, the task was cancelled), the call is over
        // here: reset it if the server has not ended it.
        defer { if let id { connection.channel.eventLoop.execute { connection.streams.value.stopStream(id) } } }
        for try await bytes in messages { try await body(bytes) }
        try Task.checkCancellation()
    }
}
