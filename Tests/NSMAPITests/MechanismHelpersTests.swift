import IPAddressing
import NSMAPI
import Testing

@Suite("Mechanism helpers")
struct MechanismHelpersTests {
    @Test("kernel mechanism carries name and namespace under upstream's keys")
    func kernel() throws {
        let mechanism = Connection_Mechanism.kernel(interfaceName: "nsm-1", namespace: .inode(device: 4, inode: 4026532548))
        #expect(mechanism.cls == "LOCAL")
        #expect(mechanism.type == "KERNEL")
        #expect(mechanism.parameters == ["name": "nsm-1", "inodeURL": "inode://4/4026532548"])
        #expect(mechanism.kernelInterfaceName == "nsm-1")
        #expect(try mechanism.namespace() == .inode(device: 4, inode: 4026532548))
        #expect(mechanism.isKernel)
    }

    @Test("namespace URLs", arguments: [
        ("inode://4/4026532548", NamespaceURL.inode(device: 4, inode: 4026532548)),
        ("file:///proc/thread-self/ns/net", NamespaceURL.file(path: "/proc/thread-self/ns/net")),
        ("file:///run/netns/pod-1", NamespaceURL.file(path: "/run/netns/pod-1")),
    ])
    func namespaceURLs(_ text: String, _ url: NamespaceURL) {
        #expect(NamespaceURL(text) == url)
        #expect(url.description == text)
    }

    @Test("malformed inodeURL is reported with the field name", arguments: ["inode://4", "inode://a/b", "file://relative", "http://x", "inode://1/2/3"])
    func malformedNamespace(_ text: String) {
        var mechanism = Connection_Mechanism.kernel()
        mechanism.inodeURL = text
        #expect(throws: NSMAPIError.self) { try mechanism.namespace() }
        do { _ = try mechanism.namespace() } catch {
            #expect(error.description.contains("mechanism.parameters[inodeURL]"))
            #expect(error.description.contains(text))
        }
    }

    @Test("VXLAN accessors read and write upstream's parameter keys")
    func vxlan() throws {
        var mechanism = Connection_Mechanism.vxlan(sourceIP: IPAddress("192.168.1.10")!)
        #expect(mechanism.cls == "REMOTE")
        #expect(mechanism.type == "VXLAN")
        #expect(mechanism.parameters["src_ip"] == "192.168.1.10")
        #expect(mechanism.parameters["src_port"] == "4789")
        mechanism.vxlanDestinationIP = IPAddress("192.168.1.20")
        mechanism.vxlanDestinationPort = 4789
        mechanism.vni = 0xABCDE
        mechanism.tunnelMTU = 1446
        #expect(mechanism.parameters["dst_ip"] == "192.168.1.20")
        #expect(mechanism.parameters["vni"] == String(0xABCDE))
        #expect(mechanism.parameters["MTU"] == "1446")
        #expect(mechanism.vxlanDestinationIP == IPAddress("192.168.1.20"))
        #expect(mechanism.vni == 0xABCDE)
        mechanism.parameters["vni"] = String(1 << 24)
        #expect(mechanism.vni == nil)
        mechanism.parameters["vni"] = "0"
        #expect(mechanism.vni == nil)
        #expect(Connection_Mechanism.vxlanOverhead(for: .v4) == 54)
        #expect(Connection_Mechanism.vxlanOverhead(for: .v6) == 74)
    }
}

@Suite("Path helpers")
struct PathHelpersTests {
    static func path(index: UInt32) -> Connection_Path {
        var path = Connection_Path()
        path.index = index
        path.pathSegments = [
            .init(name: "pod", id: "pod-0"), .init(name: "nsmgr-a", id: "u1"),
            .init(name: "forwarder-a", id: "u2"), .init(name: "nse", id: "u3"),
        ]
        return path
    }

    @Test("current, previous and next segments follow the index")
    func segments() {
        let path = Self.path(index: 1)
        #expect(path.currentSegment?.name == "nsmgr-a")
        #expect(path.previousSegment?.name == "pod")
        #expect(path.nextSegment?.name == "forwarder-a")
        #expect(Self.path(index: 0).previousSegment == nil)
        #expect(Self.path(index: 3).nextSegment == nil)
        #expect(Self.path(index: 9).currentSegment == nil)
    }

    @Test("monitor selectors match contiguous runs with wildcards")
    func selectors() {
        var connection = Connection_Connection()
        connection.networkService = "svc"
        connection.path = Self.path(index: 0)
        var selector = Connection_MonitorScopeSelector()
        #expect(selector.matches(connection))
        selector.pathSegments = [.init(name: "", id: "u1"), .init(name: "forwarder-a", id: "")]
        #expect(selector.matches(connection))
        selector.pathSegments = [.init(name: "", id: "u1"), .init(name: "nse", id: "")]
        #expect(!selector.matches(connection))
        selector.pathSegments = [.init(name: "pod", id: "pod-0")]
        selector.networkServices = ["other"]
        #expect(!selector.matches(connection))
        selector.networkServices = ["other", "svc"]
        #expect(selector.matches(connection))
    }
}

@Suite("IP context helpers")
struct IPContextHelpersTests {
    @Test("parses address lists and names the malformed entry")
    func parse() throws {
        var context = Connectioncontext_IPContext()
        context.addSource(IPPrefix("172.16.1.7/32")!)
        context.addSource(IPPrefix("172.16.1.7/32")!)
        context.addDestination(IPPrefix("fd00::6/128")!)
        context.addSourceRoute(IPPrefix("172.16.1.6/32")!)
        context.addSourceRoute(IPPrefix("172.16.1.6/32")!)
        #expect(context.srcIpAddrs == ["172.16.1.7/32"])
        #expect(context.srcRoutes.count == 1)
        #expect(try context.sourceFamilies() == [.v4])
        #expect(try context.destinationPrefixes().first?.family == .v6)
        context.excludedPrefixes = ["10.96.0.0/16", "10.244.0.0/33"]
        do {
            _ = try context.excludedPrefixList()
            Issue.record("accepted a /33")
        } catch {
            #expect(error.field == "context.ip_context.excluded_prefixes[1]")
            #expect(error.value == "10.244.0.0/33")
        }
    }

    @Test("DNS configs compare as sets")
    func dnsConfigs() {
        var a = Connectioncontext_DNSConfig(), b = Connectioncontext_DNSConfig()
        a.dnsServerIps = ["1.1.1.1", "8.8.8.8"]; a.searchDomains = ["x", "y"]
        b.dnsServerIps = ["8.8.8.8", "1.1.1.1"]; b.searchDomains = ["y", "x"]
        #expect(a.isEquivalent(to: b))
        b.searchDomains = ["y"]
        #expect(!a.isEquivalent(to: b))
    }

    @Test("labels: selectors and NSM_LABELS parsing")
    func labels() throws {
        let labels = ["app": "foo", "version": "v1.1"]
        #expect(labels.contains(selector: [:]))
        #expect(labels.contains(selector: ["app": "foo"]))
        #expect(!labels.contains(selector: ["app": "bar"]))
        #expect(try [String: String].parseLabels("p2p:true, app=foo") == ["p2p": "true", "app": "foo"])
        #expect(throws: NSMAPIError.self) { try [String: String].parseLabels("novalue") }
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.networkServiceNames = ["svc"]
        endpoint.setLabels(labels, forService: "svc")
        #expect(endpoint.labels(forService: "svc") == labels)
        #expect(endpoint.labels(forService: "other") == [:])
        #expect(endpoint.offers("svc"))
    }
}
