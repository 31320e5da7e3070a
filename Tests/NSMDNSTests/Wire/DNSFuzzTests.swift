@testable import NSMDNS
import Testing

@Suite("DNS codec fuzzing")
struct DNSFuzzTests {
    /// xorshift: reproducible without Foundation.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test("mutated and random packets either parse and re-encode stably, or throw; never trap")
    func mutations() throws {
        var random = Random(state: 0x9e3779b97f4a7c15)
        let seed = DNSMessageTests.sample.serialized()
        var parsed = 0, refused = 0
        for round in 0..<30_000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:  // flip a few bytes
                bytes = seed
                for _ in 0..<Int.random(in: 1...6, using: &random) { bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            case 1:  // cut it short
                bytes = Array(seed.prefix(Int.random(in: 0..<seed.count, using: &random)))
            case 2:  // plant compression pointers anywhere
                bytes = seed
                let at = Int.random(in: 12..<(bytes.count - 1), using: &random)
                bytes[at] = 0xc0 | UInt8.random(in: 0...1, using: &random)
                bytes[at + 1] = UInt8.random(in: 0...255, using: &random)
            default:  // noise with a plausible header
                bytes = (0..<Int.random(in: 12...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                bytes[4] = 0; bytes[5] = UInt8.random(in: 0...3, using: &random)
            }
            do {
                let message = try DNSMessage(bytes: bytes)
                parsed += 1
                // What we accept, we can write and read back to the same thing.
                let again = try DNSMessage(bytes: message.serialized())
                #expect(again == message, "round \(round)")
            } catch {
                refused += 1
            }
        }
        #expect(parsed > 1_000 && refused > 1_000, "parsed \(parsed), refused \(refused): the fuzzer should reach both outcomes")
    }
}
