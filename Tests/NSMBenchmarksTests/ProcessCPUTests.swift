import Glibc
import NSMBenchmarks
import Testing

@Suite("Process CPU time from /proc")
struct ProcessCPUTests {
    @Test("this process's CPU time grows while it computes; a process that does not exist has none")
    func readsOwnCPU() throws {
        let start = try #require(processCPUMilliseconds(getpid()))
        let deadline = monotonicNanoseconds() + 10_000_000_000
        var spin: UInt64 = 0
        var now = start
        while now < start + 50, monotonicNanoseconds() < deadline {
            for value in 0..<100_000 { spin = spin &* 31 &+ UInt64(value) }
            now = processCPUMilliseconds(getpid()) ?? now
        }
        #expect(spin != 1)
        #expect(now >= start + 50, "50 ms of computing did not show in /proc/self/stat within 10 s")
        #expect(processCPUMilliseconds(Int32.max) == nil)
    }
}
