import IPAddressing
import Logging
import NIOCore
import Synchronization

/// The proxy's logic, confined to the proxy thread (`ProxyThread`): cache, fan-out, replies,
/// metrics. Other threads hand it work through `mailbox`.
///
/// `@unchecked Sendable`: every mutable member is touched only on the proxy thread; the cache
/// and metrics, also read by TCP lookups on the NIO loop, are behind locks.
final class ProxyCore: DNSQueryHandling, @unchecked Sendable {
    /// The NIO loop that serves TCP (clients, and retries of truncated answers).
    let tcpLoop: any EventLoop
    let mailbox = ProxyMailbox()
    let timeout: UInt64
    /// How long a query that has a negative answer still waits for the others (then it answers
    /// with that negative): one silent upstream must not hold every negative for the whole budget.
    let negativeWait: UInt64
    let retransmitInterval: UInt64
    let logger: Logger
    let cache: Mutex<DNSCache>
    let metricsBox = Mutex(DNSProxyMetrics())
    /// As configured, and as asked: own addresses left out, scoped ones first.
    var configuredUpstreams: [DNSUpstream] = []
    private(set) var upstreams: [DNSUpstream] = []
    private(set) var upstreamPeers: [SocketPeer] = []
    private(set) var upstreamEndpoints: [String] = []
    var health = UpstreamHealth(count: 0)
    /// The listeners' addresses: an upstream that is one of them is never asked (a loop).
    var ownAddresses: Set<DNSListenAddress> = []
    /// Upstream sockets, each on its own random port; a query uses one at random and its
    /// answers count only when they arrive there (port randomisation, RFC 5452).
    var upstreamV4: [Int32] = []
    var upstreamV6: [Int32] = []
    var pending: [UInt16: PendingQuery] = [:]
    var ticks = TickQueue()
    var generator = SystemRandomNumberGenerator()
    /// Sent in every upstream query (EDNS0 option 65001, local/experimental range): a query
    /// that arrives carrying it went round a forwarding loop back to us.
    let loopMarker = EDNSOption(code: 65001, data: (0..<8).map { _ in UInt8.random(in: 0...255) })
    /// ``loopMarker`` in wire form, encoded once for every query sent upstream.
    let loopMarkerWire: [UInt8]

    init(tcpLoop: any EventLoop, timeout: Duration, negativeWait: Duration = .seconds(1), cache: sending DNSCache, logger: Logger) {
        self.tcpLoop = tcpLoop
        self.timeout = UInt64(DNSProxy.timeAmount(timeout).nanoseconds)
        self.negativeWait = UInt64(DNSProxy.timeAmount(negativeWait).nanoseconds)
        self.retransmitInterval = min(1_000_000_000, self.timeout / 3)
        self.cache = Mutex(cache)
        self.logger = logger
        loopMarkerWire = loopMarker.wire
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// On the proxy thread: the upstreams for new queries. A real change empties the cache: its
    /// answers may come from an upstream that is gone.
    func setUpstreams(_ new: [DNSUpstream]) {
        guard new != configuredUpstreams else { return }
        configuredUpstreams = new
        let kept = new.filter { !isOwn($0) }
        // Scoped upstreams first (they are the authority for their names), the most specific first.
        upstreams = kept.enumerated().sorted { lhs, rhs in
            let l = lhs.element.domains.map(\.wire.count).max() ?? 0, r = rhs.element.domains.map(\.wire.count).max() ?? 0
            return l != r ? l > r : lhs.offset < rhs.offset
        }.map(\.element)
        upstreamPeers = upstreams.map { SocketPeer(address: $0.address, port: $0.port) }
        upstreamEndpoints = upstreams.map(\.endpoint)
        health = UpstreamHealth(count: upstreams.count)
        metricsBox.withLock { $0.downUpstreams = [] }
        cache.withLock { $0.removeAll() }
    }

    // MARK: Queries from clients

    /// On the NIO loop: a query from a TCP client. Cache hits are answered here; the rest go to
    /// the proxy thread (the reply writes to the channel, which is safe from any thread).
    func handle(_ bytes: [UInt8], transport: DNSTransport, local: SocketAddress?, reply: @escaping ([UInt8]) -> Void) {
        let lookedUp = lookup(bytes, transport: transport)
        if case .hit(let answer) = lookedUp { return reply(answer) }
        let send = UncheckedReply(reply)
        mailbox.post { [self] in
            if case .miss(let view) = lookedUp {
                resolve(bytes, view: view, transport: transport) { send.reply($0) }
            } else {
                resolve(bytes, transport: transport) { send.reply($0) }
            }
        }
    }

    /// An ordinary query the cache does not hold, read in place: straight to the fan-out.
    func resolve(_ bytes: [UInt8], view: DNSQueryView, transport: DNSTransport, reply: @escaping ([UInt8]) -> Void) {
        metricsBox.withLock { if transport == .udp { $0.udpQueries += 1 } else { $0.tcpQueries += 1 } }
        let facts = QueryFacts(view)
        if isLoopedBack(id: view.id, facts) { return refuseLoop(bytes, reply: reply) }
        fanOut(bytes, facts: facts, transport: transport, reply: reply) { id in
            view.upstreamBytes(bytes, id: id, markerWire: loopMarkerWire)
        }
    }

    /// Any other query: parse, special names, loops, cache, fan-out.
    func resolve(_ bytes: [UInt8], transport: DNSTransport, reply: @escaping ([UInt8]) -> Void) {
        metricsBox.withLock { if transport == .udp { $0.udpQueries += 1 } else { $0.tcpQueries += 1 } }
        let query: DNSMessage
        do {
            query = try DNSMessage(bytes: bytes)
        } catch {
            // Answer FORMERR if there is a header to answer to; keep serving either way.
            logger.debug("malformed query", metadata: ["error": "\(error)"])
            if let formatError = DNSMessage.formatError(answering: bytes) { send(formatError, rcode: .formErr, to: reply) }
            return
        }
        guard !query.header.isResponse else { return }
        guard query.header.opcode == 0 else { return send(query.response(rcode: .notImp).serialized(), rcode: .notImp, to: reply) }
        guard query.questions.count == 1 else { return send(query.response(rcode: .formErr).serialized(), rcode: .formErr, to: reply) }
        let limit = transport == .udp ? query.acceptedUDPSize : 65535
        let question = query.questions[0]

        if question.dnsClass == .chaos, question.type == .txt, question.name == Self.metricsName {
            var response = query.response(rcode: .noError)
            response.header.isAuthoritative = true
            let lines = metricsBox.withLock { $0.lines }
            response.answers = [DNSRecord(name: question.name, type: .txt, dnsClass: .chaos, ttl: 0, data: .txt(lines.map { Array($0.utf8) }))]
            return send(response.serialized(limit: limit), rcode: .noError, to: reply)
        }

        let facts = QueryFacts(query)
        if query.edns?.options.contains(loopMarker) == true || isLoopedBack(id: query.header.id, facts) {
            return refuseLoop(bytes, reply: reply)
        }

        let key = facts.key
        if let cached = cache.withLock({ $0.answer(query, queryBytes: bytes, key: key, now: Self.now()) }) {
            metricsBox.withLock { $0.cacheHits += 1 }
            return send(Self.fit(cached, limit: limit), rcode: DNSRCode(rawValue: cached[3] & 0x0f), to: reply)
        }
        fanOut(bytes, facts: facts, transport: transport, reply: reply) { id in query.upstreamBytes(id: id, marker: loopMarker) }
    }

    /// One of our own queries coming back: an upstream forwards to us (the marker is checked
    /// by the callers; this is the id and question of a query in flight).
    func isLoopedBack(id: UInt16, _ facts: QueryFacts) -> Bool {
        guard let entry = pending[id] else { return false }
        return entry.facts.flags == facts.flags && entry.asks(name: facts.key.name, type: facts.key.type, dnsClass: facts.key.dnsClass)
    }

    func refuseLoop(_ bytes: [UInt8], reply: ([UInt8]) -> Void) {
        metricsBox.withLock { $0.loopsDetected += 1 }
        guard let query = try? DNSMessage(bytes: bytes) else { return }
        logger.warning("query loop: an upstream sent our own query back; refusing it", metadata: ["question": "\(query.questions.first.map { "\($0)" } ?? "-")"])
        send(query.response(rcode: .refused).serialized(), rcode: .refused, to: reply)
    }

    /// Sends the query to every upstream that serves its name and files it as pending.
    func fanOut(_ bytes: [UInt8], facts: QueryFacts, transport: DNSTransport,
                        reply: @escaping ([UInt8]) -> Void, outgoing: (UInt16) -> [UInt8]) {
        var asked: [Int] = []
        for index in upstreams.indices where upstreams[index].serves(canonicalName: facts.key.name) { asked.append(index) }
        guard !asked.isEmpty, pending.count < 60_000 else {
            guard let query = try? DNSMessage(bytes: bytes) else { return }
            return send(query.response(rcode: .servFail).serialized(), rcode: .servFail, to: reply)
        }
        // One random draw: the upstream id (16 bits) and the upstream socket.
        let random = generator.next()
        var id = UInt16(truncatingIfNeeded: random)
        while pending[id] != nil { id &+= 1 }
        let now = Self.now()
        let entry = PendingQuery(
            facts: facts, queryBytes: bytes, transport: transport, reply: reply, outgoingID: id, outgoingBytes: outgoing(id),
            deadline: now + timeout, upstreams: asked.map { upstreams[$0] }, peers: asked.map { upstreamPeers[$0] },
            endpoints: asked.map { upstreamEndpoints[$0] }, upstreamIndices: asked, awaited: health.awaited(asked),
            socketChoice: Int(truncatingIfNeeded: (random >> 16) & 0xffff))
        pending[id] = entry
        for index in asked.indices { sendUpstream(entry, index, entry.outgoingBytes, now: now) }
        ticks.push(min(now + retransmitInterval, entry.deadline), entry)
    }

    static let metricsName = try! DNSName("metrics.nsm.")

    enum CacheLookup {
        /// The answer (counted in the metrics).
        case hit([UInt8])
        /// An ordinary query the cache does not hold, as read in place.
        case miss(DNSQueryView)
        /// Not an ordinary query: the in-place reader leaves it to the full parser.
        case unusual
    }

    /// The cache lookup of an ordinary query, read in place. Safe from any thread.
    func lookup(_ bytes: [UInt8], transport: DNSTransport) -> CacheLookup {
        guard let view = DNSQueryView(bytes, marker: loopMarker), !view.isResponse, view.opcode == 0, !view.carriesMarker, view.dnsClass == 1
        else { return .unusual }
        let key = DNSCacheKey(view), now = Self.now()
        guard let cached = cache.withLock({ $0.answer(nameLength: view.nameLength, queryBytes: bytes, key: key, now: now) }) else { return .miss(view) }
        let answer = Self.fit(cached, limit: transport == .udp ? view.acceptedUDPSize : 65535)
        metricsBox.withLock { metrics in
            if transport == .udp { metrics.udpQueries += 1 } else { metrics.tcpQueries += 1 }
            metrics.cacheHits += 1
            metrics.answersByRCode[Int(answer[3] & 0x0f)] += 1
        }
        return .hit(answer)
    }

    func isOwn(_ upstream: DNSUpstream) -> Bool {
        ownAddresses.contains { $0.port == Int(upstream.port) && ($0.host == upstream.address.description || $0.host == "0.0.0.0" && upstream.address.family == .v4) }
    }

    func send(_ bytes: [UInt8], rcode: DNSRCode, to reply: ([UInt8]) -> Void) {
        metricsBox.withLock { $0.answersByRCode[Int(rcode.rawValue)] += 1 }
        reply(bytes)
    }

    /// `bytes` if they fit in `limit`, else the truncated form (TC set) for the client to ask over TCP.
    static func fit(_ bytes: [UInt8], limit: Int) -> [UInt8] {
        guard bytes.count > limit, let message = try? DNSMessage(bytes: bytes) else { return bytes }
        return message.serialized(limit: limit)
    }
}

/// A TCP client's reply, called from the proxy thread (it only writes to a NIO channel).
struct UncheckedReply: @unchecked Sendable {
    let reply: ([UInt8]) -> Void
    init(_ reply: @escaping ([UInt8]) -> Void) { self.reply = reply }
}

/// A pending query carried through the NIO loop and back (only touched on the proxy thread).
struct UncheckedEntry: @unchecked Sendable {
    let entry: PendingQuery
}
