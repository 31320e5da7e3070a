import NIOCore
import NIOHTTP2

/// The inbound side of HTTP/2 connection flow control, which NIOHTTP2 leaves to a stream
/// multiplexer (there is none here): the connection window is opened to `size` at the start and
/// topped up once half of it was consumed. Streams get `size` as their initial window (SETTINGS),
/// larger than any message either side accepts, so they never need an update.
struct InboundConnectionWindow {
    static let size = 8 << 20

    /// The WINDOW_UPDATE that opens the connection window from the protocol's 65 535 bytes to `size`.
    static var opening: HTTP2Frame {
        HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: size - 65_535))
    }

    private var unacknowledged = 0

    /// Counts a DATA frame against the window; returns the WINDOW_UPDATE to send when one is due.
    mutating func consume(_ data: HTTP2Frame.FramePayload.Data) -> HTTP2Frame? {
        unacknowledged += data.data.readableBytes + (data.paddingBytes ?? 0)
        guard unacknowledged >= Self.size / 2 else { return nil }
        defer { unacknowledged = 0 }
        return HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledged))
    }
}
