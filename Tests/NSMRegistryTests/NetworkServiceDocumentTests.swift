import NSMAPI
import NSMRegistry
import Testing

@Suite("NetworkService documents and one-line matches")
struct NetworkServiceDocumentTests {
    @Test("a Kubernetes object in YAML, as written for upstream")
    func kubernetesObject() throws {
        let service = try NetworkServiceDocument.parse("""
            apiVersion: networkservicemesh.io/v1
            kind: NetworkService
            metadata:
              name: my-networkservice-1
            spec:
              payload: ETHERNET
              matches:
                - source_selector:
                    app: foo
                  routes:
                    - destination_selector:
                        app: foo
                - fallthrough: true
                  routes:
                    - destination_selector:
                        app: "{{.app}}"
            """, source: "svc.yaml")
        #expect(service.name == "my-networkservice-1")
        #expect(service.payload == "ETHERNET")
        #expect(service.matches.count == 2)
        #expect(service.matches[0].sourceSelector == ["app": "foo"])
        #expect(service.matches[0].routes.map(\.destinationSelector) == [["app": "foo"]])
        #expect(service.matches[1].fallthrough && service.matches[1].routes[0].destinationSelector == ["app": "{{.app}}"])
    }

    @Test("the bare message in JSON, camel-case names")
    func bareJSON() throws {
        let service = try NetworkServiceDocument.parse(#"{"name": "svc-2", "matches": [{"sourceSelector": {}, "routes": [{"destinationSelector": {"v": "1"}}]}]}"#, source: "s.json")
        #expect(service.name == "svc-2" && service.matches[0].routes[0].destinationSelector == ["v": "1"])
    }

    @Test("bad documents name the file and what is wrong", arguments: [
        ("kind: Pod\nspec: {}", "kind \"Pod\" is not NetworkService"),
        ("- a\n- b", "expected a mapping"),
        ("payload: ETHERNET", "has no name"),
        ("name: x\nmatches: 5", "not a NetworkService"),
        ("name: [", "not valid YAML"),
    ])
    func refused(_ text: String, _ expected: String) {
        #expect {
            try NetworkServiceDocument.parse(text, source: "bad.yaml")
        } throws: { error in
            "\(error)".contains("bad.yaml") && "\(error)".contains(expected)
        }
    }

    @Test("one-line matches: source, destinations, templates, and the way back")
    func matchSpec() throws {
        let match = try MatchSpec.parse("app=foo, version=v1 -> app=foo | app={{.app}},tier=canary")
        #expect(match.sourceSelector == ["app": "foo", "version": "v1"])
        #expect(match.routes.map(\.destinationSelector) == [["app": "foo"], ["app": "{{.app}}", "tier": "canary"]])
        #expect(MatchSpec.describe(match) == "app=foo,version=v1 -> app=foo | app={{.app}},tier=canary")
        #expect(try MatchSpec.parse("-> app=bar").sourceSelector.isEmpty)
        #expect(MatchSpec.describe(try MatchSpec.parse("* -> app=bar")) == "* -> app=bar")
    }

    @Test("bad one-line matches say what is accepted", arguments: ["app=foo", "app=foo ->", "a -> b=c", "-> a=b |", "a=1,a=2 -> b=c"])
    func badMatch(_ text: String) {
        #expect {
            try MatchSpec.parse(text)
        } throws: { error in
            "\(error)".contains("expected") && "\(error)".contains("match")
        }
    }
}
