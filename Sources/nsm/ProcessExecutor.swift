import Foundation
import NIOCore
import NIOPosix

/// Where a long-running component's Swift tasks run: by default on the process's SwiftNIO event
/// loop — one thread, which also does every socket's I/O — instead of Swift's own thread pool,
/// so a gRPC message no longer crosses from the I/O thread to a pool thread and back. Measured
/// on a node process: a third of the context switches per request, a quarter of the futex
/// calls (docs/benchmarks.md). The components' blocking work (netlink calls of a few hundred
/// microseconds, namespace hops) is short, so one thread is enough for a node's control plane.
///
/// `NSM_EVENT_LOOP_THREADS=N` gives N loops; `0` keeps Swift's default pool.
enum ProcessExecutor {
    static let variable = "NSM_EVENT_LOOP_THREADS"

    /// Call first thing in a component's `run()`, before anything uses SwiftNIO.
    static func install() {
        let value = ProcessInfo.processInfo.environment[variable] ?? "1"
        guard let threads = Int(value), (0...64).contains(threads) else {
            FileHandle.standardError.write(Data("\(variable)=\(value) is not a thread count (0 to 64; 0 keeps Swift's default pool); using 1\n".utf8))
            return install(threads: 1)
        }
        install(threads: threads)
    }

    private static func install(threads: Int) {
        guard threads > 0 else { return }
        NIOSingletons.groupLoopCountSuggestion = threads
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
