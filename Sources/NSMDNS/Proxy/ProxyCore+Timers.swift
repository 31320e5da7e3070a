/// Retransmits and budgets of pending queries (on the proxy thread).
extension ProxyCore {
    // MARK: Timers

    /// When the proxy thread must next call ``fireTicks()``.
    var nextTick: UInt64? { ticks.nextTime }

    /// Every retransmit interval a pending query asks its silent upstreams again over UDP, until
    /// its budget is spent; then it concludes with what it heard.
    func fireTicks() {
        let now = Self.now()
        while let tick = ticks.popDue(now) {
            let entry = tick.entry
            guard pending[entry.outgoingID] === entry else { continue }
            if now >= entry.deadline || (entry.negativeDeadline.map { now >= $0 } ?? false) {
                countTimeouts(entry)
                apply(entry, entry.state.conclusion())
                continue
            }
            let outgoing = entry.outgoingBytes
            for index in entry.state.pendingUpstreams where !entry.overTCP.contains(index) { sendUpstream(entry, index, outgoing, now: now) }
            ticks.push(min(now + retransmitInterval, entry.deadline), entry)
        }
        if pending.isEmpty, ticks.count > 4096 { ticks.removeAll() }
    }
}
