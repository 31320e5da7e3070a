/// A query being fanned out: who asked, what we sent, what came back.
/// `@unchecked Sendable`: lives on the proxy thread only.
final class PendingQuery: @unchecked Sendable {
    let facts: QueryFacts
    let queryBytes: [UInt8]
    let transport: DNSTransport
    let reply: ([UInt8]) -> Void
    let outgoingID: UInt16
    /// The query as sent upstream: our id, and an EDNS0 OPT that carries the proxy's loop token.
    let outgoingBytes: [UInt8]
    let deadline: UInt64
    /// Where each upstream asked is reached over UDP, and how its latency is filed.
    let peers: [SocketPeer]
    let endpoints: [String]
    /// Each asked upstream's index in the proxy's list (for its health).
    let upstreamIndices: [Int]
    var state: FanoutState
    /// Set by the first negative answer: past it the query stops waiting for the others.
    var negativeDeadline: UInt64?
    var sentAt: [UInt64]
    var answers: [UpstreamAnswer?]
    var overTCP: Set<Int> = []
    /// Which upstream socket this query uses (modulo the number open).
    let socketChoice: Int

    init(facts: QueryFacts, queryBytes: [UInt8], transport: DNSTransport, reply: @escaping ([UInt8]) -> Void,
         outgoingID: UInt16, outgoingBytes: [UInt8], deadline: UInt64, upstreams: [DNSUpstream], peers: [SocketPeer],
         endpoints: [String], upstreamIndices: [Int], awaited: [Bool], socketChoice: Int) {
        self.facts = facts
        self.queryBytes = queryBytes
        self.transport = transport
        self.reply = reply
        self.outgoingID = outgoingID
        self.outgoingBytes = outgoingBytes
        self.deadline = deadline
        self.peers = peers
        self.endpoints = endpoints
        self.socketChoice = socketChoice
        self.upstreamIndices = upstreamIndices
        self.state = FanoutState(upstreams: upstreams, awaited: awaited)
        self.sentAt = Array(repeating: 0, count: upstreams.count)
        self.answers = Array(repeating: nil, count: upstreams.count)
    }

    /// Whether `response`'s question is the one asked (name case-insensitively).
    func asks(name: [UInt8], type: UInt16, dnsClass: UInt16) -> Bool {
        facts.key.type == type && facts.key.dnsClass == dnsClass && facts.key.name == name
    }
}

/// What the proxy keeps of a client's query to answer it: the question as the cache files it
/// (which also says whether the client spoke EDNS), its flags (to tell a looped-back copy of
/// our own query) and what the client accepts.
struct QueryFacts {
    var key: DNSCacheKey
    var flags: UInt16
    /// Length of the question name as the client wrote it (it starts at byte 12).
    var nameLength: Int
    var acceptedUDPSize: Int

    var hasEDNS: Bool { key.edns }

    init(_ view: DNSQueryView) {
        key = DNSCacheKey(view)
        flags = view.flags
        nameLength = view.nameLength
        acceptedUDPSize = view.acceptedUDPSize
    }

    init(_ query: DNSMessage) {
        key = DNSCacheKey(query)
        flags = query.header.flags
        nameLength = query.questions[0].name.wire.count
        acceptedUDPSize = query.acceptedUDPSize
    }
}

/// An upstream's answer as received, with what was read from it: in place (the usual case) or
/// by the full parser (anything the in-place reader leaves aside).
struct UpstreamAnswer {
    enum Reading {
        case view(DNSResponseView)
        case message(DNSMessage)
    }

    var bytes: [UInt8]
    var reading: Reading
}

extension DNSQueryView {
    /// The query as sent upstream, built from its bytes: id `id`, and an OPT carrying `marker`
    /// (added with our default size when the client sent none; otherwise the client's OPT with
    /// the size raised to at least 512 and `marker` appended to its options).
    func upstreamBytes(_ bytes: [UInt8], id: UInt16, marker: EDNSOption) -> [UInt8] {
        upstreamBytes(bytes, id: id, markerWire: marker.wire)
    }

    /// The same, with the marker already in wire form (``EDNSOption/wire``; the proxy encodes its own once).
    func upstreamBytes(_ bytes: [UInt8], id: UInt16, markerWire option: [UInt8]) -> [UInt8] {
        var out = bytes
        out.reserveCapacity(bytes.count + 11 + option.count)
        out[0] = UInt8(id >> 8)
        out[1] = UInt8(id & 0xff)
        if hasEDNS {
            let opt = 12 + nameLength + 4
            let size = max(udpPayloadSize, 512)
            out[opt + 3] = UInt8(size >> 8)
            out[opt + 4] = UInt8(size & 0xff)
            let length = (Int(out[opt + 9]) << 8 | Int(out[opt + 10])) + option.count
            out[opt + 9] = UInt8(length >> 8)
            out[opt + 10] = UInt8(length & 0xff)
            out += option
        } else {
            out[11] = 1
            let size = EDNS.defaultPayloadSize
            out += [0, 0, 41, UInt8(size >> 8), UInt8(size & 0xff), 0, 0, 0, 0, UInt8(option.count >> 8), UInt8(option.count & 0xff)]
            out += option
        }
        return out
    }
}

extension DNSMessage {
    /// The query as sent upstream (the full parser's path; see ``DNSQueryView/upstreamBytes``).
    func upstreamBytes(id: UInt16, marker: EDNSOption) -> [UInt8] {
        var message = self
        message.header.id = id
        var edns = message.edns ?? EDNS(udpPayloadSize: EDNS.defaultPayloadSize)
        edns.udpPayloadSize = max(edns.udpPayloadSize, 512)
        edns.options.append(marker)
        message.edns = edns
        return message.serialized()
    }
}
