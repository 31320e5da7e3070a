import ChildProcesses
import Foundation
import Glibc
public import Netlink

public let isRoot = getuid() == 0

/// Named namespaces for one test (nodes, pods, endpoints), deleted afterwards even on failure.
public final class TestNamespaces: @unchecked Sendable {
    // @unchecked: only touched from the test's own task.
    public private(set) var names: [String] = []
    public let prefix = "nsmt\(getpid())-\(UInt16.random(in: 0...UInt16.max))"

    public init() {}

    public func create(_ role: String) throws -> NetworkNamespace {
        let name = "\(prefix)-\(role)"
        let namespace = try NetworkNamespace.create(named: name)
        names.append(name)
        try NetlinkHandle(namespace: namespace).setUp(index: 1)
        return namespace
    }

    public func name(_ role: String) -> String { "\(prefix)-\(role)" }

    public func removeAll() { for name in names { try? NetworkNamespace.delete(named: name) } }
}

/// Runs `arguments` in namespace `namespace` (`ip netns exec`); throws with the output when it fails.
@discardableResult
public func ipIn(_ namespace: String, _ arguments: [String]) throws -> String {
    let result = try ChildProcess.capture("/usr/sbin/ip", ["netns", "exec", namespace] + arguments)
    let text = result.output + result.errors
    guard result.status == 0 else { throw ChildProcess.Failure(command: "\(arguments.joined(separator: " ")) in \(namespace)", status: result.status, output: text) }
    return text
}

/// `ip -j addr show` in `namespace`.
public func interfaceJSON(_ namespace: String) throws -> [[String: Any]] {
    let output = try ChildProcess.run("/usr/sbin/ip", ["-j", "-n", namespace, "addr", "show"])
    return (try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]) ?? []
}

/// The interface names in `namespace`, sorted.
public func interfaceNames(_ namespace: String) throws -> [String] {
    try interfaceJSON(namespace).compactMap { $0["ifname"] as? String }.sorted()
}

/// The non-link-local addresses on `interface`, as `address/length`.
public func addresses(of interface: String, in namespace: String) throws -> [String] {
    let entry = try interfaceJSON(namespace).first { $0["ifname"] as? String == interface }
    return ((entry?["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
        guard let local = info["local"] as? String, let length = info["prefixlen"] as? Int, info["scope"] as? String != "link" else { return nil }
        return "\(local)/\(length)"
    }
}

/// Every IPv6 address on `interface`, link-local ones included.
public func ipv6Addresses(of interface: String, in namespace: String) throws -> [String] {
    let entry = try interfaceJSON(namespace).first { $0["ifname"] as? String == interface }
    return ((entry?["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
        info["family"] as? String == "inet6" ? info["local"] as? String : nil
    }
}
