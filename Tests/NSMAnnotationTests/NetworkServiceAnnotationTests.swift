import NSMAnnotation
import Testing

/// One accepted annotation value and what it must parse to (nil interface = generated).
struct ValidCase: Sendable, CustomTestStringConvertible {
    var value: String
    var expected: [(service: String, domain: String?, interface: String?, labels: [String: String])]
    var testDescription: String { value }
}

@Suite("Annotation grammar: accepted values")
struct AcceptedAnnotationTests {
    static let cases: [ValidCase] = [
        // The spec's examples.
        ValidCase(value: "kernel://my-networkservice-1", expected: [("my-networkservice-1", nil, nil, [:])]),
        ValidCase(value: "kernel://my-networkservice-1/nsm-1", expected: [("my-networkservice-1", nil, "nsm-1", [:])]),
        ValidCase(
            value: "kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1",
            expected: [("my-networkservice-1", nil, "nsm-1", ["app": "foo", "version": "v1.1"])]),
        ValidCase(
            value: "kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2",
            expected: [
                ("my-networkservice-1", nil, "nsm-1", ["app": "foo", "version": "v1.1"]),
                ("my-networkservice-2", nil, nil, [:]),
            ]),
        // upstream-nsm-notes §3.2 table, where our grammar accepts the item.
        ValidCase(value: "kernel://icmp-responder/nsm-1", expected: [("icmp-responder", nil, "nsm-1", [:])]),
        ValidCase(value: "kernel://icmp-responder", expected: [("icmp-responder", nil, nil, [:])]),
        ValidCase(value: "kernel://svc/nsm-1?app=a&app=b", expected: [("svc", nil, "nsm-1", ["app": "a,b"])]),
        ValidCase(value: "kernel://svc@cluster2/nsm-1", expected: [("svc", "cluster2", "nsm-1", [:])]),
        ValidCase(
            value: "kernel://a/x, kernel://b/y",  // upstream breaks on the space; we do not
            expected: [("a", nil, "x", [:]), ("b", nil, "y", [:])]),
        // Examples seen in upstream deployments.
        ValidCase(value: "kernel://kernel2ethernet2kernel/nsm-1", expected: [("kernel2ethernet2kernel", nil, "nsm-1", [:])]),
        ValidCase(
            value: "kernel://multiple-services-1/nsm-1,kernel://multiple-services-2/nsm-2",
            expected: [("multiple-services-1", nil, "nsm-1", [:]), ("multiple-services-2", nil, "nsm-2", [:])]),
        ValidCase(value: "kernel://vl3-lb/nsm-1?app=finance", expected: [("vl3-lb", nil, "nsm-1", ["app": "finance"])]),
        ValidCase(
            value: "kernel://my-vl3-network@my.cluster1/nsm-1?dnsName=front-page",
            expected: [("my-vl3-network", "my.cluster1", "nsm-1", ["dnsName": "front-page"])]),
        ValidCase(
            value: "kernel://webhook-smartvf/nsm-1?sriovToken=worker.domain/100G",
            expected: [("webhook-smartvf", nil, "nsm-1", ["sriovToken": "worker.domain/100G"])]),
        // Our own edge cases.
        ValidCase(value: "KERNEL://svc/nsm-1", expected: [("svc", nil, "nsm-1", [:])]),
        ValidCase(value: "Kernel://svc", expected: [("svc", nil, nil, [:])]),
        ValidCase(value: "  kernel://svc/eth1  ", expected: [("svc", nil, "eth1", [:])]),
        ValidCase(value: "kernel://svc/", expected: [("svc", nil, nil, [:])]),
        ValidCase(value: "kernel://svc?", expected: [("svc", nil, nil, [:])]),
        ValidCase(value: "kernel://svc?app=", expected: [("svc", nil, nil, ["app": ""])]),
        ValidCase(value: "kernel://svc?a=1&&b=2", expected: [("svc", nil, nil, ["a": "1", "b": "2"])]),
        ValidCase(value: "kernel://svc?msg=hello+world%21", expected: [("svc", nil, nil, ["msg": "hello world!"])]),
        ValidCase(value: "kernel://svc?list=a%2Cb", expected: [("svc", nil, nil, ["list": "a,b"])]),
        ValidCase(value: "kernel://svc?k=v=w", expected: [("svc", nil, nil, ["k": "v=w"])]),
        ValidCase(value: "kernel://svc?caf%C3%A9=%E2%9C%93", expected: [("svc", nil, nil, ["café": "✓"])]),
        ValidCase(value: "kernel://svc/n%2D1", expected: [("svc", nil, "n-1", [:])]),
        ValidCase(value: "kernel://svc/a_b.c-15-bytes", expected: [("svc", nil, "a_b.c-15-bytes", [:])]),
        ValidCase(value: "kernel://1svc2/NSM_1", expected: [("1svc2", nil, "NSM_1", [:])]),
        ValidCase(value: "kernel://svc,\tkernel://svc", expected: [("svc", nil, nil, [:]), ("svc", nil, nil, [:])]),
        ValidCase(value: "kernel://\(String(repeating: "a", count: 63))", expected: [(String(repeating: "a", count: 63), nil, nil, [:])]),
        ValidCase(value: "kernel://svc/\(String(repeating: "x", count: 15))", expected: [("svc", nil, String(repeating: "x", count: 15), [:])]),
    ]

    @Test("parses", arguments: cases)
    func parses(_ testCase: ValidCase) throws {
        var generator = SeededGenerator(seed: 42)
        let annotation: NetworkServiceAnnotation
        do {
            annotation = try NetworkServiceAnnotation.parse(testCase.value, using: &generator)
        } catch {
            Issue.record("rejected: \(error)")
            return
        }
        try #require(annotation.services.count == testCase.expected.count)
        for (service, expected) in zip(annotation.services, testCase.expected) {
            #expect(service.mechanism == .kernel)
            #expect(service.service == expected.service)
            #expect(service.domain == expected.domain)
            #expect(service.labels == expected.labels)
            if let interface = expected.interface {
                #expect(service.interfaceName == interface)
                #expect(!service.interfaceNameGenerated)
            } else {
                #expect(service.interfaceNameGenerated)
                #expect(service.interfaceName.hasPrefix(String(expected.service.prefix(10)) + "-"))
                #expect(service.interfaceName.utf8.count == 15)
            }
        }
        #expect(Set(annotation.services.map(\.interfaceName)).count == annotation.services.count)
    }

    @Test("network service name carries the domain")
    func networkServiceName() throws {
        let annotation = try NetworkServiceAnnotation.parse("kernel://svc@my.cluster1/nsm-1, kernel://svc2")
        #expect(annotation.services.map(\.networkService) == ["svc@my.cluster1", "svc2"])
        #expect(annotation.services[0].mechanism.wireType == "KERNEL")
        #expect(annotation.services[0].mechanism.wireClass == "LOCAL")
    }

    @Test("generated names are reproducible with a seed and differ across seeds")
    func generatedNamesAreSeeded() throws {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7), c = SeededGenerator(seed: 8)
        let value = "kernel://my-networkservice-1, kernel://svc-2"
        let first = try NetworkServiceAnnotation.parse(value, using: &a).services.map(\.interfaceName)
        let second = try NetworkServiceAnnotation.parse(value, using: &b).services.map(\.interfaceName)
        let third = try NetworkServiceAnnotation.parse(value, using: &c).services.map(\.interfaceName)
        #expect(first == second)
        #expect(first != third)
        #expect(first[0].hasPrefix("my-network-"))
        #expect(first[1].hasPrefix("svc-2-"))
        let alphabet = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        #expect(first[0].dropFirst(11).allSatisfy { alphabet.contains($0) })
    }

    @Test("a generated name never repeats an explicit one")
    func generatedNamesAvoidExplicitOnes() throws {
        // Find what seed 3 would generate first, then ask for exactly that name explicitly.
        var probe = SeededGenerator(seed: 3)
        let firstGenerated = InterfaceNameGenerator.name(forService: "svc", using: &probe)
        var generator = SeededGenerator(seed: 3)
        let annotation = try NetworkServiceAnnotation.parse("kernel://svc, kernel://other/\(firstGenerated)", using: &generator)
        #expect(annotation.services[1].interfaceName == firstGenerated)
        #expect(annotation.services[0].interfaceName != firstGenerated)
    }

    @Test("parsing a value twice with the system generator gives valid distinct names")
    func systemGenerator() throws {
        let annotation = try NetworkServiceAnnotation.parse("kernel://a, kernel://a, kernel://a")
        #expect(Set(annotation.services.map(\.interfaceName)).count == 3)
    }
}
