import NSMAnnotation
import Testing

/// One rejected annotation value: the code it must fail with, the item position named,
/// and a fragment the message must contain so a newcomer can see what is wrong.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    var value: String
    var code: AnnotationError.Code
    var position: Int?
    var mentions: String
    var testDescription: String { value }
}

@Suite("Annotation grammar: rejected values")
struct RejectedAnnotationTests {
    static let cases: [InvalidCase] = [
        InvalidCase(value: "", code: .emptyAnnotation, position: nil, mentions: "empty"),
        InvalidCase(value: "   ", code: .emptyAnnotation, position: nil, mentions: "empty"),
        InvalidCase(value: " , ", code: .emptyAnnotation, position: nil, mentions: "empty"),
        InvalidCase(value: "kernel://a,,kernel://b", code: .emptyItem, position: 2, mentions: "two commas"),
        InvalidCase(value: "kernel://a,", code: .emptyItem, position: 2, mentions: "empty"),
        InvalidCase(value: ",kernel://a", code: .emptyItem, position: 1, mentions: "empty"),
        // upstream-nsm-notes §3.2 rows that upstream accepts or breaks on, and we reject clearly.
        InvalidCase(value: "svc/nsm-1", code: .missingScheme, position: 1, mentions: "kernel://svc/nsm-1"),
        InvalidCase(value: "memif://svc/nsm-1", code: .unsupportedMechanism, position: 1, mentions: "\"memif\" is not supported"),
        InvalidCase(value: "vfio://svc?sriovToken=intel/10G", code: .unsupportedMechanism, position: 1, mentions: "kernel"),
        InvalidCase(value: "KERNEL://svc:99/x/nsm-1", code: .portNotAllowed, position: 1, mentions: ":99"),
        InvalidCase(value: "kernel://svc/a-very-long-ifname", code: .invalidInterfaceName, position: 1, mentions: "at most 15"),
        // Mechanism.
        InvalidCase(value: "kernel:/svc", code: .missingScheme, position: 1, mentions: "\"://\" is missing"),
        InvalidCase(value: "kernel:svc", code: .missingScheme, position: 1, mentions: "\"://\" is missing"),
        InvalidCase(value: "://svc", code: .missingScheme, position: 1, mentions: "empty"),
        InvalidCase(value: "tcp://svc", code: .unsupportedMechanism, position: 1, mentions: "tcp"),
        InvalidCase(value: "kernel://ok, vxlan://svc", code: .unsupportedMechanism, position: 2, mentions: "vxlan"),
        // Service.
        InvalidCase(value: "kernel://", code: .invalidService, position: 1, mentions: "empty"),
        // Found by fuzzing: a letter with a combining mark is one Character that sorts inside "a"..."z".
        InvalidCase(value: "kernel://b\u{20D0}\u{20D0}\u{20D0}svc", code: .invalidService, position: 1, mentions: "not allowed"),
        InvalidCase(value: "kernel://svc/nsm\u{20D0}", code: .invalidInterfaceName, position: 1, mentions: "not allowed"),
        InvalidCase(value: "kernel:///nsm-1", code: .invalidService, position: 1, mentions: "empty"),
        InvalidCase(value: "kernel://?app=foo", code: .invalidService, position: 1, mentions: "empty"),
        InvalidCase(value: "kernel://My-Service", code: .invalidService, position: 1, mentions: "did you mean \"my-service\""),
        InvalidCase(value: "kernel://-svc", code: .invalidService, position: 1, mentions: "starts or ends"),
        InvalidCase(value: "kernel://svc-", code: .invalidService, position: 1, mentions: "starts or ends"),
        InvalidCase(value: "kernel://my_svc", code: .invalidService, position: 1, mentions: "\"_\""),
        InvalidCase(value: "kernel://my.svc", code: .invalidService, position: 1, mentions: "\".\""),
        InvalidCase(value: "kernel://\(String(repeating: "a", count: 64))", code: .invalidService, position: 1, mentions: "64 characters"),
        InvalidCase(value: "kernel://[::1]/nsm-1", code: .portNotAllowed, position: 1, mentions: "port"),
        InvalidCase(value: "kernel://sv%63", code: .invalidService, position: 1, mentions: "%"),
        // Domain and userinfo.
        InvalidCase(value: "kernel://svc@", code: .invalidDomain, position: 1, mentions: "empty"),
        InvalidCase(value: "kernel://svc@a..b", code: .invalidDomain, position: 1, mentions: "empty label"),
        InvalidCase(value: "kernel://svc@Cluster", code: .invalidDomain, position: 1, mentions: "upper-case"),
        InvalidCase(value: "kernel://svc@a@b", code: .invalidDomain, position: 1, mentions: "more than one '@'"),
        InvalidCase(value: "kernel://@domain/nsm-1", code: .invalidService, position: 1, mentions: "empty"),
        InvalidCase(value: "kernel://user:pw@domain", code: .credentialsNotAllowed, position: 1, mentions: "user:password"),
        InvalidCase(value: "kernel://svc@domain:80", code: .portNotAllowed, position: 1, mentions: ":80"),
        // Interface name.
        InvalidCase(value: "kernel://svc/a/b", code: .nestedPath, position: 1, mentions: "kernel://svc/b"),
        InvalidCase(value: "kernel://svc/nsm-1/", code: .nestedPath, position: 1, mentions: "2 segments"),
        InvalidCase(value: "kernel://svc//nsm-1", code: .nestedPath, position: 1, mentions: "segments"),
        InvalidCase(value: "kernel://svc/..", code: .invalidInterfaceName, position: 1, mentions: "cannot name"),
        InvalidCase(value: "kernel://svc/.", code: .invalidInterfaceName, position: 1, mentions: "cannot name"),
        InvalidCase(value: "kernel://svc/eth:0", code: .invalidInterfaceName, position: 1, mentions: "\":\""),
        InvalidCase(value: "kernel://svc/nsm%2F1", code: .invalidInterfaceName, position: 1, mentions: "\"/\""),
        InvalidCase(value: "kernel://svc/n%20m", code: .invalidInterfaceName, position: 1, mentions: "\" \""),
        InvalidCase(value: "kernel://svc/ñsm", code: .invalidInterfaceName, position: 1, mentions: "ñ"),
        InvalidCase(value: "kernel://svc/nsm%ZZ", code: .invalidEscape, position: 1, mentions: "two hex digits"),
        InvalidCase(value: "kernel://svc/\(String(repeating: "x", count: 16))", code: .invalidInterfaceName, position: 1, mentions: "16 bytes"),
        // Labels.
        InvalidCase(value: "kernel://svc?app", code: .invalidLabel, position: 1, mentions: "no '='"),
        InvalidCase(value: "kernel://svc?=foo", code: .invalidLabel, position: 1, mentions: "empty key"),
        InvalidCase(value: "kernel://svc?app=%", code: .invalidEscape, position: 1, mentions: "two hex digits"),
        InvalidCase(value: "kernel://svc?app=%4", code: .invalidEscape, position: 1, mentions: "two hex digits"),
        InvalidCase(value: "kernel://svc?app=%FF", code: .invalidEscape, position: 1, mentions: "not UTF-8"),
        InvalidCase(value: "kernel://svc?app=a%0Ab", code: .invalidLabel, position: 1, mentions: "U+A"),
        InvalidCase(value: "kernel://svc#frag", code: .fragmentNotAllowed, position: 1, mentions: "#frag"),
        // Whitespace inside an item.
        InvalidCase(value: "kernel://svc/nsm 1", code: .whitespaceInItem, position: 1, mentions: "character 17"),
        InvalidCase(value: "kernel://svc?app=foo bar", code: .whitespaceInItem, position: 1, mentions: "%20"),
        InvalidCase(value: "kernel:// svc", code: .whitespaceInItem, position: 1, mentions: "whitespace"),
        // Across items.
        InvalidCase(value: "kernel://a/nsm-1, kernel://b/nsm-1", code: .duplicateInterfaceName, position: 2, mentions: "item 1"),
        InvalidCase(value: "kernel://a/x, kernel://b/y, kernel://c/x", code: .duplicateInterfaceName, position: 3, mentions: "\"x\""),
    ]

    @Test("is rejected with a precise error", arguments: cases)
    func rejects(_ testCase: InvalidCase) {
        do {
            let annotation = try NetworkServiceAnnotation.parse(testCase.value)
            Issue.record("accepted as \(annotation.services)")
        } catch {
            #expect(error.code == testCase.code, "\(error)")
            #expect(error.position == testCase.position)
            #expect(error.description.contains(testCase.mentions), "message: \(error.description)")
            #expect(error.description.contains("accepted: "))
            if let position = testCase.position {
                #expect(error.description.hasPrefix("item \(position) of "))
                #expect(error.item.map { !$0.isEmpty || testCase.code == .emptyItem } ?? false)
            }
        }
    }

    @Test("a value over 256 KiB or asking for more than 64 services is refused as a whole, echoing none of it")
    func bounds() throws {
        let many = (1...65).map { "kernel://svc-\($0)" }.joined(separator: ", ")
        let huge = "kernel://" + String(repeating: "a", count: NetworkServiceAnnotation.maximumLength)
        for (value, mentions) in [(many, "asks for 65 network services"), (huge, "\(huge.utf8.count) bytes long")] {
            #expect {
                try NetworkServiceAnnotation.parse(value)
            } throws: { error in
                guard let error = error as? AnnotationError else { return false }
                return error.code == .tooLarge && error.position == nil && error.description.contains(mentions)
                    && error.description.contains("accepted: at most") && error.description.utf8.count < 200
            }
        }
        let most = (1...64).map { "kernel://svc-\($0)" }.joined(separator: ", ")
        #expect(try NetworkServiceAnnotation.parse(most).services.count == 64)
    }

    @Test("has more than 30 malformed cases")
    func enoughCases() {
        #expect(Self.cases.count >= 30)
    }

    @Test("error names the item text and its position among all items")
    func errorNamesItem() {
        #expect(throws: AnnotationError.self) {
            try NetworkServiceAnnotation.parse("kernel://ok/nsm-1, memif://svc/nsm-2, kernel://x")
        }
        do {
            _ = try NetworkServiceAnnotation.parse("kernel://ok/nsm-1, memif://svc/nsm-2, kernel://x")
        } catch {
            #expect(error.description.hasPrefix("item 2 of 3 (\"memif://svc/nsm-2\"): mechanism \"memif\" is not supported"))
        }
    }
}

@Suite("Label limits (Kubernetes')")
struct LabelLimitTests {
    @Test("keys over 63 characters, prefixes over 253 and values over 63 are refused, quoting at most 63 characters")
    func limits() throws {
        for annotation in ["kernel://svc?\(String(repeating: "k", count: 64))=v", "kernel://svc?app=\(String(repeating: "v", count: 64))",
                           "kernel://svc?\(String(repeating: "p", count: 254))/app=v"] {
            #expect {
                try NetworkServiceAnnotation.parse(annotation)
            } throws: { error in
                let text = "\(error)"
                return text.contains("characters") && !text.contains(String(repeating: "v", count: 64)) && !text.contains(String(repeating: "p", count: 100))
            }
        }
        #expect(try NetworkServiceAnnotation.parse("kernel://svc?example.com/app=\(String(repeating: "v", count: 63))").services[0].labels.count == 1)
        #expect(try LabelRules.parse("app=a, tier:web") == ["app": "a", "tier": "web"])
        // A 10,000-character service name is quoted once, cut.
        let long = "kernel://" + String(repeating: "s", count: 10_000)
        #expect {
            try NetworkServiceAnnotation.parse(long)
        } throws: { error in "\(error)".count < 600 && "\(error)".contains("10009 characters") }
        #expect(throws: LabelError.self) { try LabelRules.parse("app") }
    }
}
