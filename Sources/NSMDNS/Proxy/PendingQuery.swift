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
    /// Which upstream socket this query uses (modulo the number open).
    let socketChoice = Int.random(in: 0..<1024)

    init(query: DNSMessage, queryBytes: [UInt8], transport: DNSTransport, reply: @escaping ([UInt8]) -> Void,
         upstreams: [DNSUpstream], outgoingID: UInt16, deadline: UInt64, loopMarker: EDNSOption) {
        self.loopMarker = loopMarker
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

    /// The query as sent upstream: our id, and an EDNS0 OPT that carries the proxy's loop
    /// token (added when the client sent none; the answer is then returned without it).
    private(set) lazy var outgoingBytes: [UInt8] = {
        var message = query
        message.header.id = outgoingID
        var edns = message.edns ?? EDNS(udpPayloadSize: EDNS.defaultPayloadSize)
        edns.udpPayloadSize = max(edns.udpPayloadSize, 512)
        edns.options.append(loopMarker)
        message.edns = edns
        return message.serialized()
    }()

    let loopMarker: EDNSOption
}
