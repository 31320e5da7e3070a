import NIOCore
import NIOHTTP2

/// The inbound side of HTTP/2 connection flow control, which NIOHTTP2 leaves to a stream
/// multiplexer (there is none here): the connection window is opened to `size` at the start and
/// topped up as bytes are given back. The client gives bytes back as they arrive; the server
/// holds a call's request bytes until the call ends, so one connection never holds more than
/// `size` bytes of requests however many streams it opens. Streams get `size` as their initial
/// window (SETTINGS), larger than any message either side accepts, so they never need an update.
struct InboundConnectionWindow {
    static let size = 8 << 20

    /// The WINDOW_UPDATE that opens the connection window from the protocol's 65 535 bytes to `size`.
    static var opening: HTTP2Frame {
        HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: size - 65_535))
    }

    private var unacknowledged = 0
    /// Bytes received and not given back yet (the server's calls still running hold theirs).
    private(set) var held = 0

    /// The bytes a DATA frame counts against the window (its data and its padding).
    static func bytes(_ data: HTTP2Frame.FramePayload.Data) -> Int { data.data.readableBytes + (data.paddingBytes ?? 0) }

    /// Counts a DATA frame against the window and gives it back at once (the client: responses
    /// are bounded by their own limit); returns the WINDOW_UPDATE to send when one is due.
    mutating func consume(_ data: HTTP2Frame.FramePayload.Data) -> HTTP2Frame? {
        hold(Self.bytes(data))
        return release(Self.bytes(data))
    }

    /// Counts `bytes` as held: the peer may not send them again until they are released.
    mutating func hold(_ bytes: Int) { held += bytes }

    /// Gives `bytes` back; returns the WINDOW_UPDATE when one is due: once the bytes given back
    /// reach half of what is not held (so a window mostly held by running calls is topped up at
    /// once, and a free one in few updates).
    mutating func release(_ bytes: Int) -> HTTP2Frame? {
        held -= bytes
        unacknowledged += bytes
        guard unacknowledged > 0, unacknowledged >= (Self.size - held) / 2 else { return nil }
        defer { unacknowledged = 0 }
        return HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledged))
    }
}
