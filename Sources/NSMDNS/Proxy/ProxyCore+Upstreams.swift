import IPAddressing
import Logging
import NIOCore
import Synchronization

/// Asking the upstreams and taking their answers (on the proxy thread).
extension ProxyCore {
    // MARK: Upstreams

    func sendUpstream(_ entry: PendingQuery, _ index: Int, _ bytes: [UInt8], now: UInt64) {
        let peer = entry.peers[index]
        let sockets = peer.isIPv4 ? upstreamV4 : upstreamV6
        guard !sockets.isEmpty, UDPSocket.send(sockets[entry.socketChoice % sockets.count], bytes, to: peer) else {
            return apply(entry, entry.state.fail(upstream: index))
        }
        if entry.sentAt[index] == 0 { entry.sentAt[index] = now }
    }

    /// On the proxy thread: a datagram on upstream socket `socket` (its index in its family's list).
    func upstreamAnswer(_ bytes: [UInt8], from remote: SocketPeer, v4: Bool, socket: Int) {
        guard bytes.count >= 12 else { return }
        // Any datagram from an upstream that is down brings it back (even a late answer).
        if health.downCount > 0, let upstream = upstreamPeers.firstIndex(where: { $0.sameEndpoint(as: remote) }), health.isDown(upstream) {
            _ = health.answered(upstream)
            markHealth(upstream, down: false)
        }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let entry = pending[id],
              socket == entry.socketChoice % max(1, v4 ? upstreamV4.count : upstreamV6.count),
              let index = entry.peers.indices.first(where: { entry.peers[$0].sameEndpoint(as: remote) }),
              !entry.state.replied[index], !entry.overTCP.contains(index)
        else { return }
        accept(bytes, entry: entry, index: index, viaTCP: false)
    }

    func accept(_ bytes: [UInt8], entry: PendingQuery, index: Int, viaTCP: Bool) {
        guard pending[entry.outgoingID] === entry, let answer = Self.read(bytes, answering: entry) else {
            // Garbage or a reply to another question: not an answer (a spoofer cannot end the query early).
            if viaTCP, pending[entry.outgoingID] === entry { apply(entry, entry.state.fail(upstream: index)) }
            return
        }
        let arrived = Self.now()
        defer { recordLatency(entry, index, arrived: arrived) }
        let truncated: Bool, positive: Bool, negative: Bool, noError: Bool
        switch answer.reading {
        case .view(let view): (truncated, positive, negative, noError) = (view.isTruncated, view.isPositive, view.isNegative, view.rcode == 0)
        case .message(let message):
            (truncated, positive, negative, noError) = (message.header.isTruncated, message.isPositive, message.isNegative, message.rcode == .noError)
        }
        if truncated, !viaTCP {
            entry.overTCP.insert(index)
            metricsBox.withLock { $0.tcpRetries += 1 }
            let remaining = TimeAmount.nanoseconds(max(1, Int64(entry.deadline) - Int64(Self.now())))
            let mailbox = self.mailbox
            let retry = UncheckedEntry(entry: entry)
            DNSUpstreamTCP.query(entry.outgoingBytes, to: entry.state.upstreams[index], on: tcpLoop, timeout: remaining).whenComplete { result in
                mailbox.post { [self] in
                    let entry = retry.entry
                    switch result {
                    case .success(let answer): accept(answer, entry: entry, index: index, viaTCP: true)
                    case .failure: if pending[entry.outgoingID] === entry { apply(entry, entry.state.fail(upstream: index)) }
                    }
                }
            }
            return
        }
        entry.answers[index] = answer
        if positive || negative {
            let key = entry.endpoints[index]
            metricsBox.withLock { metrics in
                if positive { metrics.upstreams[key, default: .init()].positive += 1 } else { metrics.upstreams[key, default: .init()].negative += 1 }
            }
        }
        if entry.upstreamIndices[index] < upstreams.count, health.answered(entry.upstreamIndices[index]) {
            markHealth(entry.upstreamIndices[index], down: false)
        }
        let outcome = entry.state.record(upstream: index, positive: positive, negative: negative, noError: noError)
        if outcome == .wait, negative, entry.negativeDeadline == nil {
            let deadline = min(entry.deadline, Self.now() + negativeWait)
            entry.negativeDeadline = deadline
            ticks.push(deadline, entry)
        }
        apply(entry, outcome)
    }

    /// An upstream's response to `entry`'s question, read in place when it can be, else by the
    /// full parser; nil for anything else.
    static func read(_ bytes: [UInt8], answering entry: PendingQuery) -> UpstreamAnswer? {
        if let view = DNSResponseView(bytes) {
            guard view.isResponse, entry.asks(name: view.questionName, type: view.questionType, dnsClass: view.questionClass) else { return nil }
            return UpstreamAnswer(bytes: bytes, reading: .view(view))
        }
        guard let message = try? DNSMessage(bytes: bytes), message.header.isResponse, let question = message.questions.first,
              message.questions.count == 1,
              entry.asks(name: question.name.canonicalWire, type: question.type.rawValue, dnsClass: question.dnsClass.rawValue)
        else { return nil }
        return UpstreamAnswer(bytes: bytes, reading: .message(message))
    }

    func recordLatency(_ entry: PendingQuery, _ index: Int, arrived: UInt64) {
        let elapsed = Double(arrived - entry.sentAt[index]) / 1e6
        let key = entry.endpoints[index]
        metricsBox.withLock { $0.upstreams[key, default: .init()].record(milliseconds: elapsed) }
    }

    func apply(_ entry: PendingQuery, _ outcome: FanoutState.Outcome) {
        switch outcome {
        case .wait: return
        case .forward(let index):
            let key = entry.endpoints[index]
            metricsBox.withLock { $0.upstreams[key, default: .init()].forwarded += 1 }
            finish(entry, with: entry.answers[index])
        case .servFail: finish(entry, with: nil)
        }
    }

    func finish(_ entry: PendingQuery, with answer: UpstreamAnswer?) {
        guard pending[entry.outgoingID] === entry else { return }
        pending[entry.outgoingID] = nil
        guard let answer else {
            guard let query = try? DNSMessage(bytes: entry.queryBytes) else { return }
            return send(query.response(rcode: .servFail).serialized(), rcode: .servFail, to: entry.reply)
        }
        var bytes = answer.bytes
        var reading = answer.reading
        let rcode: DNSRCode
        switch reading {
        case .view(let view):
            // The client spoke no EDNS: the OPT we added must not reach it (RFC 6891 §7).
            if !entry.facts.hasEDNS, view.optRange != nil { bytes = view.removingOPT(from: bytes) }
            rcode = DNSRCode(rawValue: view.rcode)
        case .message(var response):
            if !entry.facts.hasEDNS, response.edns != nil {
                response.edns = nil
                bytes = response.serialized()
                guard let reparsed = try? DNSMessage(bytes: bytes) else { return }
                reading = .message(reparsed)
            }
            rcode = response.rcode
        }
        let stored = bytes
        bytes[0] = entry.queryBytes[0]
        bytes[1] = entry.queryBytes[1]
        let nameLength = entry.facts.nameLength
        if bytes.count >= 12 + nameLength, entry.queryBytes.count >= 12 + nameLength {
            bytes.replaceSubrange(12..<(12 + nameLength), with: entry.queryBytes[12..<(12 + nameLength)])
        }
        let limit = entry.transport == .udp ? entry.facts.acceptedUDPSize : 65535
        send(Self.fit(bytes, limit: limit), rcode: rcode, to: entry.reply)
        // Cached after the reply is on its way: the client does not wait for the bookkeeping.
        let key = entry.facts.key, now = Self.now()
        switch reading {
        case .view(let view): cache.withLock { $0.store(view, bytes: stored, key: key, now: now) }
        case .message(let message): cache.withLock { $0.store(message, bytes: stored, key: key, now: now) }
        }
    }
}
