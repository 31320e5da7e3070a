import Foundation
import Glibc
import IPAddressing
import Netlink
import NSMDNS

/// Sends queries from `concurrency` OS threads inside a namespace, each with one connected UDP
/// socket and one query in flight at a time (like a stub resolver), and records latency and
/// whether each answer was the expected one.
struct DNSLoadGenerator {
    struct Query: Sendable {
        var name: String
        /// The address a correct answer holds; nil when any positive answer will do.
        var expected: String?
    }

    struct Result: Sendable {
        var latencies: [Double] = []
        /// The latencies of the correct answers only.
        var correctLatencies: [Double] = []
        var correct = 0
        var wrong = 0
        var timeouts = 0
        var answered: Int { correct + wrong }
    }

    let namespace: NetworkNamespace
    let port: UInt16

    /// Runs every query once, spread over `concurrency` threads; returns when all are done.
    func run(_ queries: [Query], concurrency: Int) async -> Result {
        await withCheckedContinuation { continuation in
            let results = ResultBox(count: concurrency)
            let group = DispatchGroup()
            for worker in 0..<concurrency {
                group.enter()
                let share = Array(stride(from: worker, to: queries.count, by: concurrency).map { queries[$0] })
                let thread = Thread { [namespace, port] in
                    results.set(worker, Self.work(share, namespace: namespace, port: port))
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.notify(queue: .global()) { continuation.resume(returning: results.merged()) }
        }
    }

    private static func work(_ queries: [Query], namespace: NetworkNamespace, port: UInt16) -> Result {
        var result = Result()
        // This thread exists only for this: it may stay in the namespace.
        guard (try? namespace.moveCurrentThread()) != nil else { return result }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return result }
        var buffer = [UInt8](repeating: 0, count: 65535)
        for query in queries {
            let id = UInt16.random(in: 0...UInt16.max)
            guard let name = try? DNSName(query.name) else { continue }
            let bytes = DNSMessage.query(DNSQuestion(name: name, type: .a), id: id).serialized()
            let started = monotonicNanoseconds()
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            // The clock stops when a datagram with our id arrives; it is parsed and checked after.
            var received: [UInt8]?
            var ended: UInt64 = 0
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                if count >= 12, UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == id {
                    ended = monotonicNanoseconds()
                    received = Array(buffer[0..<count])
                    break
                }
            }
            guard let received, let answer = try? DNSMessage(bytes: received), answer.header.isResponse else {
                if received == nil { result.timeouts += 1 } else { result.wrong += 1 }
                continue
            }
            result.latencies.append(Double(ended - started) / 1e6)
            let addresses = answer.answers.compactMap { record -> String? in if case .a(let a) = record.data { "\(a)" } else { nil } }
            let good = answer.rcode == .noError && (query.expected.map { addresses.contains($0) } ?? !addresses.isEmpty)
            if good {
                result.correct += 1
                result.correctLatencies.append(result.latencies[result.latencies.count - 1])
            } else {
                result.wrong += 1
            }
        }
        return result
    }

    /// Per-worker results, written by each worker thread once.
    private final class ResultBox: @unchecked Sendable {
        // @unchecked: each slot is written by exactly one thread, read after all joined.
        private var slots: [Result]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: Result(), count: count) }
        func set(_ index: Int, _ value: Result) { lock.withLock { slots[index] = value } }
        func merged() -> Result {
            lock.withLock {
                slots.reduce(into: Result()) { total, part in
                    total.latencies += part.latencies
                    total.correctLatencies += part.correctLatencies
                    total.correct += part.correct
                    total.wrong += part.wrong
                    total.timeouts += part.timeouts
                }
            }
        }
    }
}
