import IPAddressing
@testable import NSMDNS
import Testing

@Suite("Fan-out decisions: first positive wins")
struct FanoutStateTests {
    static let cluster = DNSUpstream(address: IPAddress("10.96.0.10")!)
    static let service = DNSUpstream(address: IPAddress("172.16.1.0")!, domains: [try! DNSName("svc.nsm")])
    static let other = DNSUpstream(address: IPAddress("172.16.2.0")!)

    static func response(_ rcode: DNSRCode, answers: Int) -> DNSMessage {
        var message = DNSMessage.query(DNSQuestion(name: try! DNSName("db.svc.nsm"), type: .a), id: 1).response(rcode: rcode)
        for index in 0..<answers { message.answers.append(.a(try! DNSName("db.svc.nsm"), IPv4Address(UInt32(index + 1)), ttl: 30)) }
        return message
    }

    @Test("a positive answer is forwarded at once, even after negatives")
    func slowPositiveAfterFastNegative() {
        var state = FanoutState(upstreams: [Self.cluster, Self.service])
        #expect(state.record(upstream: 0, response: Self.response(.nxDomain, answers: 0)) == .wait)
        #expect(state.record(upstream: 1, response: Self.response(.noError, answers: 1)) == .forward(upstream: 1))
    }

    @Test("a second response from the same upstream is ignored")
    func duplicate() {
        var state = FanoutState(upstreams: [Self.cluster, Self.service])
        #expect(state.record(upstream: 0, response: Self.response(.nxDomain, answers: 0)) == .wait)
        #expect(state.record(upstream: 0, response: Self.response(.noError, answers: 1)) == .wait)
    }

    @Test("all negative: NODATA beats NXDOMAIN, whoever came first")
    func nodataBeatsNXDomain() {
        var state = FanoutState(upstreams: [Self.cluster, Self.other])
        #expect(state.record(upstream: 0, response: Self.response(.nxDomain, answers: 0)) == .wait)
        #expect(state.record(upstream: 1, response: Self.response(.noError, answers: 0)) == .forward(upstream: 1))
    }

    @Test("all NXDOMAIN: the upstream scoped to the name speaks for it")
    func scopedNegativeWins() {
        var state = FanoutState(upstreams: [Self.cluster, Self.service])
        #expect(state.record(upstream: 0, response: Self.response(.nxDomain, answers: 0)) == .wait)
        #expect(state.record(upstream: 1, response: Self.response(.nxDomain, answers: 0)) == .forward(upstream: 1))
    }

    @Test("failures are not answers: negative + SERVFAIL gives the negative; only failures give SERVFAIL")
    func failures() {
        var mixed = FanoutState(upstreams: [Self.cluster, Self.other])
        #expect(mixed.record(upstream: 0, response: Self.response(.servFail, answers: 0)) == .wait)
        #expect(mixed.record(upstream: 1, response: Self.response(.nxDomain, answers: 0)) == .forward(upstream: 1))
        var failed = FanoutState(upstreams: [Self.cluster, Self.other])
        #expect(failed.record(upstream: 0, response: Self.response(.refused, answers: 0)) == .wait)
        #expect(failed.fail(upstream: 1) == .servFail)
    }

    @Test("budget spent: the negatives heard so far, else SERVFAIL")
    func deadline() {
        var state = FanoutState(upstreams: [Self.cluster, Self.service])
        #expect(state.conclusion() == .servFail)
        _ = state.record(upstream: 0, response: Self.response(.nxDomain, answers: 0))
        #expect(state.conclusion() == .forward(upstream: 0))
        #expect(state.pendingUpstreams == [1])
    }
}

extension FanoutState {
    /// The decision for a whole response (the proxy passes the facts it read in place).
    mutating func record(upstream index: Int, response: DNSMessage) -> Outcome {
        record(upstream: index, positive: response.isPositive, negative: response.isNegative, noError: response.rcode == .noError)
    }
}
