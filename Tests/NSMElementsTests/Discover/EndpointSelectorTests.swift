import NSMAPI
import NSMElements
import Testing

@Suite("EndpointSelector (NetworkService matches)")
struct EndpointSelectorTests {
    static func endpoint(_ name: String, _ labels: [String: String], service: String = "svc") -> Registry_NetworkServiceEndpoint {
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = name
        endpoint.networkServiceNames = [service]
        endpoint.setLabels(labels, forService: service)
        return endpoint
    }

    static func match(source: [String: String] = [:], routes: [[String: String]] = [], fallthrough: Bool = false, metadata: [String: String]? = nil) -> Registry_Match {
        var match = Registry_Match()
        match.sourceSelector = source
        match.routes = routes.map { selector in var destination = Registry_Destination(); destination.destinationSelector = selector; return destination }
        match.fallthrough = `fallthrough`
        if let metadata { match.metadata.labels = metadata }
        return match
    }

    static let foo = endpoint("nse-foo", ["app": "foo", "nodeName": "node-1"])
    static let bar = endpoint("nse-bar", ["app": "bar", "nodeName": "node-2"])
    static let supplier = endpoint("nse-supplier", ["app": "icmp-responder-supplier"])
    static let all = [foo, bar, supplier]

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var matches: [Registry_Match]
        var labels: [String: String]
        var expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no matches: every candidate", matches: [], labels: [:], expected: ["nse-foo", "nse-bar", "nse-supplier"]),
        Case(name: "source selector applies, destination picks", matches: [match(source: ["app": "foo"], routes: [["app": "foo"]])], labels: ["app": "foo"], expected: ["nse-foo"]),
        Case(name: "source selector does not apply: none", matches: [match(source: ["app": "foo"], routes: [["app": "foo"]])], labels: ["app": "bar"], expected: []),
        Case(name: "empty source selector applies to all", matches: [match(routes: [["app": "bar"]])], labels: ["x": "y"], expected: ["nse-bar"]),
        Case(name: "several routes: any of them", matches: [match(routes: [["app": "foo"], ["app": "bar"]])], labels: [:], expected: ["nse-foo", "nse-bar"]),
        Case(name: "first applicable match wins", matches: [match(source: ["app": "x"], routes: [["app": "foo"]]), match(routes: [["app": "bar"]])], labels: ["app": "y"], expected: ["nse-bar"]),
        Case(name: "template renders request labels (scale from zero, local)",
             matches: [match(routes: [["nodeName": "{{.nodeName}}"]], fallthrough: true), match(routes: [["app": "icmp-responder-supplier"]])],
             labels: ["nodeName": "node-2"], expected: ["nse-bar"]),
        Case(name: "empty with fallthrough moves to the next match (scale from zero, supplier)",
             matches: [match(routes: [["nodeName": "{{ .nodeName }}"]], fallthrough: true), match(routes: [["app": "icmp-responder-supplier"]])],
             labels: ["nodeName": "node-9"], expected: ["nse-supplier"]),
        Case(name: "empty without fallthrough stops", matches: [match(routes: [["app": "none"]]), match(routes: [["app": "foo"]])], labels: [:], expected: []),
        Case(name: "metadata without routes: every candidate", matches: [match(metadata: ["p2p": "true"])], labels: [:], expected: ["nse-foo", "nse-bar", "nse-supplier"]),
        Case(name: "composition: source selector chains services", matches: [match(source: ["app": "firewall"], routes: [["app": "bar"]]), match(routes: [["app": "foo"]])],
             labels: ["app": "firewall"], expected: ["nse-bar"]),
        Case(name: "unknown template label renders empty", matches: [match(routes: [["app": "{{.missing}}"]])], labels: [:], expected: []),
    ]

    @Test("selects endpoints as upstream", arguments: cases)
    func select(_ testCase: Case) {
        var service = Registry_NetworkService()
        service.name = "svc"
        service.matches = testCase.matches
        let chosen = EndpointSelector.select(service: service, labels: testCase.labels, candidates: Self.all)
        #expect(chosen.map(\.name) == testCase.expected)
    }

    @Test("forwarders: default p2p=true, or the match's metadata labels")
    func forwarders() {
        let p2p = Self.endpoint("fwd-1", ["p2p": "true"], service: "forwarder")
        let other = Self.endpoint("fwd-2", ["kind": "vpp"], service: "forwarder")
        #expect(EndpointSelector.selectForwarders(service: nil, labels: [:], forwarders: [p2p, other]).map(\.name) == ["fwd-1"])
        var service = Registry_NetworkService()
        service.matches = [Self.match(metadata: ["kind": "vpp"])]
        #expect(EndpointSelector.selectForwarders(service: service, labels: [:], forwarders: [p2p, other]).map(\.name) == ["fwd-2"])
    }

    @Test("templates", arguments: [("{{.a}}-{{ .b }}", "1-2"), ("plain", "plain"), ("{{.zz}}", ""), ("{{unclosed", "{{unclosed"), ("x{{.a}}y", "x1y")])
    func render(_ template: String, _ expected: String) {
        #expect(EndpointSelector.render(template, with: ["a": "1", "b": "2"]) == expected)
    }
}
