// libFuzzer target: the lean gRPC server transport's connection handling (ServerStreamsHandler
// behind NIOHTTP2's server handler, as LeanServerTransport builds it), fed any bytes after the
// HTTP/2 client preface in an EmbeddedChannel. Every call it accepts is answered at once —
// headers, a message, a status — so the write path runs too. Invariants: the handler never
// traps, and nothing it writes is refused by NIOHTTP2 as a protocol violation of ours.
import NIOCore
import NIOEmbedded
import NIOHTTP2
import Synchronization

private let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTransport(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let channel = EmbeddedChannel()
    let accepted = Mutex<[AcceptedStream]>([])
    let streams = ServerStreamsHandler(accept: { stream in accepted.withLock { $0.append(stream) } })
    let settings: HTTP2Settings = [
        HTTP2Setting(parameter: .maxConcurrentStreams, value: LeanServerTransport.maximumConcurrentStreams),
        HTTP2Setting(parameter: .initialWindowSize, value: InboundConnectionWindow.size),
        HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 10),
    ]
    do {
        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
        try channel.pipeline.syncOperations.addHandler(streams)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
    } catch {
        preconditionFailure("the pipeline could not be built: \(error)")
    }
    var bytes = channel.allocator.buffer(capacity: preface.count + size)
    bytes.writeBytes(preface)
    bytes.writeBytes(UnsafeRawBufferPointer(start: data, count: size))
    // A connection error closes the channel; that is an answer, not a finding.
    _ = try? channel.writeInbound(bytes)
    for stream in accepted.withLock({ $0 }) {
        _ = streams.write(.metadata([:]), on: stream.writer.id)
        _ = streams.write(.message([8, 1]), on: stream.writer.id)
        _ = streams.write(.status(.init(code: .ok, message: ""), [:]), on: stream.writer.id)
    }
    while (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil != nil {}
    _ = try? channel.finish()
    // Tasks still scheduled on the embedded loop (timers a socket's loop would fire) hold the
    // channel; a real loop runs them, this one drops them.
    channel.embeddedEventLoop.advanceTime(by: .hours(1))
    try? channel.embeddedEventLoop.syncShutdownGracefully()
    // The streams hold writers that hold the handler, which holds this closure's array: a cycle of
    // this harness's making (the transport hands streams on and keeps none).
    accepted.withLock { $0.removeAll() }
    return 0
}
