import Glibc
import Netlink
import Synchronization

let isRoot = getuid() == 0
private let counter = Atomic<Int>(0)

/// A fresh, uniquely named network namespace (`dnst-<pid>-<n>`) with `lo` up and extra loopback
/// addresses 127.0.0.2-9; deleted afterwards even when the test fails.
func withDNSNamespace<T>(_ body: (NetworkNamespace) async throws -> T) async throws -> T {
    let name = "dnst-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
    let namespace = try NetworkNamespace.create(named: name)
    defer { try? NetworkNamespace.delete(named: name) }
    let handle = try NetlinkHandle(namespace: namespace)
    try handle.setUp(index: 1)
    return try await body(namespace)
}
