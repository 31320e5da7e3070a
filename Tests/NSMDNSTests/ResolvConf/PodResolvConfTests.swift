import Glibc
@testable import NSMDNS
import Testing

@Suite("resolv.conf in the pod")
struct PodResolvConfTests {
    static let original = """
        # kubelet wrote this
        nameserver 10.96.0.10
        search default.svc.cluster.local svc.cluster.local cluster.local
        options ndots:5 timeout:2

        """

    func withFile(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/nsm-resolv-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        close(fd)
        let path = String(cString: template)
        defer { unlink(path) }
        try PodResolvConf.write(Self.original, to: path)
        try body(path)
    }

    @Test("parse: last search wins, options accumulate, other lines kept")
    func parse() {
        let conf = ResolvConf(parsing: "nameserver 1.1.1.1\nnameserver 8.8.8.8\ndomain a.example\nsearch b.example c.example\noptions ndots:2\noptions edns0\nsortlist 10.0.0.0\n")
        #expect(conf.nameservers == ["1.1.1.1", "8.8.8.8"])
        #expect(conf.search == ["b.example", "c.example"])
        #expect(conf.options == ["ndots:2", "edns0"])
        #expect(conf.otherLines == ["sortlist 10.0.0.0"])
    }

    @Test("install: nameserver 127.0.0.1, cluster then service search domains, original options; restore gives the file back")
    func installRestore() throws {
        try withFile { path in
            let file = try PodResolvConf(path: path)
            try file.install(extraSearch: ["svc.nsm"])
            let written = ResolvConf(parsing: try PodResolvConf.read(path))
            #expect(written.nameservers == ["127.0.0.1"])
            #expect(written.search == ["default.svc.cluster.local", "svc.cluster.local", "cluster.local", "svc.nsm"])
            #expect(written.options == ["ndots:5", "timeout:2"])
            try file.restore()
            #expect(try PodResolvConf.read(path) == Self.original)
        }
    }

    @Test("a restarted proxy finds the original inside its own file (no double wrapping)")
    func restartIdempotent() throws {
        try withFile { path in
            try PodResolvConf(path: path).install(extraSearch: ["a.nsm"])
            // Crash: no restore. A new proxy starts.
            let again = try PodResolvConf(path: path)
            #expect(again.originalText == Self.original)
            #expect(again.original.nameservers == ["10.96.0.10"])
            try again.install(extraSearch: ["b.nsm"])
            #expect(ResolvConf(parsing: try PodResolvConf.read(path)).search.last == "b.nsm")
            try again.restore()
            #expect(try PodResolvConf.read(path) == Self.original)
        }
    }

    @Test("a missing file is an error naming the path")
    func missing() {
        #expect { try PodResolvConf(path: "/nonexistent/resolv.conf") } throws: { "\($0)".contains("/nonexistent/resolv.conf") }
    }
}
