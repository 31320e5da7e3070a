import NIOCore

/// A query being fanned out: who asked, what we sent, what came back.
/// `@unchecked Sendable`: lives on the proxy's event loop only.
final class PendingQuery: @unchecked Sendable {
    let query: DNSMessage
    let queryBytes: [UInt8]
    let key: DNSCacheKey
    let transport: DNSTransport
    let reply: ([UInt8]) -> Void
    let outgoingID: UInt16
    let deadline: UInt64
    var state: FanoutState
    var sentAt: [UInt64]
    var responses: [[UInt8]?]
    var overTCP: Set<Int> = []
    var timer: Scheduled<Void>?

    init(query: DNSMessage, queryBytes: [UInt8], transport: DNSTransport, reply: @escaping ([UInt8]) -> Void,
         upstreams: [DNSUpstream], outgoingID: UInt16, deadline: UInt64) {
        self.query = query
        self.queryBytes = queryBytes
        self.key = DNSCacheKey(query)
        self.transport = transport
        self.reply = reply
        self.outgoingID = outgoingID
        self.deadline = deadline
        self.state = FanoutState(upstreams: upstreams)
        self.sentAt = Array(repeating: 0, count: upstreams.count)
        self.responses = Array(repeating: nil, count: upstreams.count)
    }

    /// The query as sent upstream: the client's bytes with our id.
    var outgoingBytes: [UInt8] {
        var bytes = queryBytes
        bytes[0] = UInt8(outgoingID >> 8)
        bytes[1] = UInt8(outgoingID & 0xff)
        return bytes
    }
}
