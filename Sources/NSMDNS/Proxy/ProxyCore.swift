import IPAddressing
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The proxy's logic, confined to its one event loop: cache, fan-out, replies, metrics.
///
/// `@unchecked Sendable`: every mutable member is touched only on `loop` (channel handlers
/// call in on it; other threads go through `loop.execute`).
final class ProxyCore: DNSQueryHandling, @unchecked Sendable {
    let loop: any EventLoop
    let timeout: TimeAmount
    let retransmitInterval: TimeAmount
    let logger: Logger
    /// Shared with the UDP frontend thread, which answers cache hits itself.
    let cache: Mutex<DNSCache>
    let metricsBox = Mutex(DNSProxyMetrics())
    var upstreams: [DNSUpstream] = []
    var ownAddresses: Set<DNSListenAddress> = []
    /// Upstream sockets, each on its own random port; a query uses one at random and its
    /// answers count only when they arrive there (port randomisation, RFC 5452).
    var upstreamChannelsV4: [any Channel] = []
    var upstreamChannelsV6: [any Channel] = []
    private var pending: [UInt16: PendingQuery] = [:]
    private var generator = SystemRandomNumberGenerator()
    /// Sent in every upstream query (EDNS0 option 65001, local/experimental range): a query
    /// that arrives carrying it went round a forwarding loop back to us.
    let loopMarker = EDNSOption(code: 65001, data: (0..<8).map { _ in UInt8.random(in: 0...255) })

    init(loop: any EventLoop, timeout: TimeAmount, cache: sending DNSCache, logger: Logger) {
        self.loop = loop
        self.timeout = timeout
        self.retransmitInterval = .milliseconds(min(1000, timeout.nanoseconds / 3_000_000))
        self.cache = Mutex(cache)
        self.logger = logger
    }

    var inFlight: Int { pending.count }

    // MARK: Queries from clients

    func handle(_ bytes: [UInt8], transport: DNSTransport, local: SocketAddress?, reply: @escaping ([UInt8]) -> Void) {
        // The common case first: an ordinary query answered from the cache, read in place.
        switch lookup(bytes, transport: transport) {
        case .hit(let answer): reply(answer)
        case .miss: resolve(bytes, transport: transport, cacheChecked: true, reply: reply)
        case .unusual: resolve(bytes, transport: transport, cacheChecked: false, reply: reply)
        }
    }

    /// Everything after the in-place cache lookup: parse, special names, loops, fan-out.
    /// `cacheChecked`: the lookup already read this query (so the cache is not asked again).
    func resolve(_ bytes: [UInt8], transport: DNSTransport, cacheChecked: Bool, reply: @escaping ([UInt8]) -> Void) {
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

        // One of our own queries coming back: an upstream forwards to us.
        if query.edns?.options.contains(loopMarker) == true
            || pending[query.header.id].map({ $0.query.questions[0] == question && $0.query.header.flags == query.header.flags }) == true {
            metricsBox.withLock { $0.loopsDetected += 1 }
            logger.warning("query loop: an upstream sent our own query back; refusing it", metadata: ["question": "\(question)"])
            return send(query.response(rcode: .refused).serialized(), rcode: .refused, to: reply)
        }

        let key = DNSCacheKey(query)
        let now = NIODeadline.now().uptimeNanoseconds
        if !cacheChecked, let cached = cache.withLock({ $0.answer(query, queryBytes: bytes, key: key, now: now) }) {
            metricsBox.withLock { $0.cacheHits += 1 }
            return send(Self.fit(cached, limit: limit), rcode: DNSRCode(rawValue: cached[3] & 0x0f), to: reply)
        }

        let asked = upstreams.filter { $0.serves(question.name) && !isOwn($0) }
        guard !asked.isEmpty, pending.count < 60_000 else {
            return send(query.response(rcode: .servFail).serialized(), rcode: .servFail, to: reply)
        }
        var id = UInt16.random(in: 0...UInt16.max, using: &generator)
        while pending[id] != nil { id &+= 1 }
        let entry = PendingQuery(query: query, queryBytes: bytes, transport: transport, reply: reply, upstreams: asked,
                                 outgoingID: id, deadline: now + UInt64(timeout.nanoseconds), loopMarker: loopMarker)
        pending[id] = entry
        let outgoing = entry.outgoingBytes
        for index in asked.indices { sendUpstream(entry, index, outgoing, now: now) }
        scheduleTick(entry)
    }

    static let metricsName = try! DNSName("metrics.nsm.")

    enum CacheLookup {
        /// The answer (counted in the metrics).
        case hit([UInt8])
        /// An ordinary query the cache does not hold.
        case miss
        /// Not an ordinary query: the in-place reader leaves it to the full parser.
        case unusual
    }

    /// The cache lookup of an ordinary query, read in place. Safe from any thread: the UDP
    /// frontend calls it before handing a query to the loop.
    func lookup(_ bytes: [UInt8], transport: DNSTransport) -> CacheLookup {
        guard let view = DNSQueryView(bytes, marker: loopMarker), !view.isResponse, view.opcode == 0, !view.carriesMarker, view.dnsClass == 1
        else { return .unusual }
        let key = DNSCacheKey(view), now = NIODeadline.now().uptimeNanoseconds
        guard let cached = cache.withLock({ $0.answer(nameLength: view.nameLength, queryBytes: bytes, key: key, now: now) }) else { return .miss }
        let answer = Self.fit(cached, limit: transport == .udp ? view.acceptedUDPSize : 65535)
        metricsBox.withLock { metrics in
            if transport == .udp { metrics.udpQueries += 1 } else { metrics.tcpQueries += 1 }
            metrics.cacheHits += 1
            metrics.answersByRCode[Int(answer[3] & 0x0f)] += 1
        }
        return .hit(answer)
    }

    private func isOwn(_ upstream: DNSUpstream) -> Bool {
        ownAddresses.contains { $0.port == Int(upstream.port) && ($0.host == upstream.address.description || $0.host == "0.0.0.0" && upstream.address.family == .v4) }
    }

    private func send(_ bytes: [UInt8], rcode: DNSRCode, to reply: ([UInt8]) -> Void) {
        metricsBox.withLock { $0.answersByRCode[Int(rcode.rawValue)] += 1 }
        reply(bytes)
    }

    /// `bytes` if they fit in `limit`, else the truncated form (TC set) for the client to ask over TCP.
    static func fit(_ bytes: [UInt8], limit: Int) -> [UInt8] {
        guard bytes.count > limit, let message = try? DNSMessage(bytes: bytes) else { return bytes }
        return message.serialized(limit: limit)
    }

    // MARK: Upstreams

    private func sendUpstream(_ entry: PendingQuery, _ index: Int, _ bytes: [UInt8], now: UInt64) {
        let upstream = entry.state.upstreams[index]
        let channels = upstream.address.family == .v4 ? upstreamChannelsV4 : upstreamChannelsV6
        guard !channels.isEmpty, case let channel = channels[entry.socketChoice % channels.count],
              let address = try? SocketAddress(ipAddress: upstream.address.description, port: Int(upstream.port)) else {
            return apply(entry, entry.state.fail(upstream: index))
        }
        if entry.sentAt[index] == 0 { entry.sentAt[index] = now }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// A datagram on upstream socket `socket` (its index in its family's list).
    func upstreamAnswer(_ bytes: [UInt8], from remote: SocketAddress, socket: Int) {
        guard bytes.count >= 12 else { return }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let entry = pending[id],
              socket == entry.socketChoice % max(1, remote.protocol == .inet ? upstreamChannelsV4.count : upstreamChannelsV6.count),
              let index = entry.state.upstreams.indices.first(where: { i in
                  let upstream = entry.state.upstreams[i]
                  return remote.port == Int(upstream.port) && remote.ipAddress.flatMap(IPAddressParsing.parse) == upstream.address
              }),
              !entry.state.replied[index], !entry.overTCP.contains(index)
        else { return }
        accept(bytes, entry: entry, index: index, viaTCP: false)
    }

    private func accept(_ bytes: [UInt8], entry: PendingQuery, index: Int, viaTCP: Bool) {
        guard pending[entry.outgoingID] === entry else { return }
        guard let response = try? DNSMessage(bytes: bytes), response.header.isResponse,
              response.questions.first == entry.query.questions[0] else {
            // Garbage or a reply to another question: not an answer (a spoofer cannot end the query early).
            if viaTCP { apply(entry, entry.state.fail(upstream: index)) }
            return
        }
        recordLatency(entry, index)
        if response.header.isTruncated, !viaTCP {
            entry.overTCP.insert(index)
            metricsBox.withLock { $0.tcpRetries += 1 }
            let remaining = TimeAmount.nanoseconds(Int64(max(1, Int64(entry.deadline) - Int64(NIODeadline.now().uptimeNanoseconds))))
            DNSUpstreamTCP.query(entry.outgoingBytes, to: entry.state.upstreams[index], on: loop, timeout: remaining).whenComplete { result in
                switch result {
                case .success(let answer): self.accept(answer, entry: entry, index: index, viaTCP: true)
                case .failure: if self.pending[entry.outgoingID] === entry { self.apply(entry, entry.state.fail(upstream: index)) }
                }
            }
            return
        }
        entry.responses[index] = bytes
        apply(entry, entry.state.record(upstream: index, response: response))
    }

    private func recordLatency(_ entry: PendingQuery, _ index: Int) {
        let elapsed = Double(NIODeadline.now().uptimeNanoseconds - entry.sentAt[index]) / 1e6
        let key = entry.state.upstreams[index].endpoint
        metricsBox.withLock { $0.upstreams[key, default: .init()].record(milliseconds: elapsed) }
    }

    private func apply(_ entry: PendingQuery, _ outcome: FanoutState.Outcome) {
        switch outcome {
        case .wait: return
        case .forward(let index): finish(entry, with: entry.responses[index])
        case .servFail: finish(entry, with: nil)
        }
    }

    private func finish(_ entry: PendingQuery, with upstreamBytes: [UInt8]?) {
        guard pending[entry.outgoingID] === entry else { return }
        pending[entry.outgoingID] = nil
        entry.timer?.cancel()
        guard var bytes = upstreamBytes, var response = try? DNSMessage(bytes: bytes) else {
            return send(entry.query.response(rcode: .servFail).serialized(), rcode: .servFail, to: entry.reply)
        }
        if entry.query.edns == nil, response.edns != nil {
            // The client spoke no EDNS: the OPT we added must not reach it (RFC 6891 §7).
            response.edns = nil
            bytes = response.serialized()
            guard let reparsed = try? DNSMessage(bytes: bytes) else { return }
            response = reparsed
        }
        let key = entry.key, stored = bytes, message = response
        cache.withLock { $0.store(message, bytes: stored, key: key, now: NIODeadline.now().uptimeNanoseconds) }
        bytes[0] = entry.queryBytes[0]
        bytes[1] = entry.queryBytes[1]
        let nameLength = entry.query.questions[0].name.wire.count
        if bytes.count >= 12 + nameLength, entry.queryBytes.count >= 12 + nameLength {
            bytes.replaceSubrange(12..<(12 + nameLength), with: entry.queryBytes[12..<(12 + nameLength)])
        }
        let limit = entry.transport == .udp ? entry.query.acceptedUDPSize : 65535
        send(Self.fit(bytes, limit: limit), rcode: response.rcode, to: entry.reply)
    }

    /// Every retransmit interval: ask the silent upstreams again over UDP, until the budget is spent.
    private func scheduleTick(_ entry: PendingQuery) {
        let remaining = Int64(entry.deadline) - Int64(NIODeadline.now().uptimeNanoseconds)
        let delay = TimeAmount.nanoseconds(max(0, min(retransmitInterval.nanoseconds, remaining)))
        entry.timer = loop.scheduleTask(in: delay) { [self] in
            guard pending[entry.outgoingID] === entry else { return }
            let now = NIODeadline.now().uptimeNanoseconds
            if now >= entry.deadline {
                metricsBox.withLock { metrics in
                    for index in entry.state.pendingUpstreams { metrics.upstreams[entry.state.upstreams[index].endpoint, default: .init()].timeouts += 1 }
                }
                return apply(entry, entry.state.conclusion())
            }
            let outgoing = entry.outgoingBytes
            for index in entry.state.pendingUpstreams where !entry.overTCP.contains(index) { sendUpstream(entry, index, outgoing, now: now) }
            scheduleTick(entry)
        }
    }
}

/// Reads an address printed by NIO back into our type.
enum IPAddressParsing {
    static func parse(_ text: String) -> IPAddress? {
        if let percent = text.firstIndex(of: "%") { return IPAddress(text[..<percent]) }
        return IPAddress(text)
    }
}
