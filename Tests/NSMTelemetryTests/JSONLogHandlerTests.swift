import Foundation
import Logging
@testable import NSMTelemetry
import Synchronization
import Testing

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test("one object per line: time, level, logger, message, source, metadata at the top level; escapes; parses as JSON")
    func line() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "nsm.node") { JSONLogHandler(label: $0, write: { line in lines.withLock { $0.append(line) } }) }
        logger[metadataKey: "component"] = "manager"
        logger.info("connection \"up\"\n", metadata: ["nsm.connection.id": "pod-1-0", "hops": .array(["a", "b"]), "ip": .dictionary(["src": "10.0.0.1"])])
        logger.debug("not at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1 && written[0].hasSuffix("}\n") && !written[0].dropLast().contains("\n"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info" && object["logger"] as? String == "nsm.node")
        #expect(object["msg"] as? String == "connection \"up\"\n")
        #expect(object["nsm.connection.id"] as? String == "pod-1-0" && object["component"] as? String == "manager")
        #expect(object["hops"] as? [String] == ["a", "b"] && (object["ip"] as? [String: String]) == ["src": "10.0.0.1"])
        let time = try #require(object["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.contains("T"))
        #expect(JSONLogHandler.quoted("\u{01}") == "\"\\u0001\"")
    }
}
