import Foundation
import NSMAPI
import NSMRuntime
import SwiftProtobuf
import Synchronization
import Testing

/// What the client tells whoever runs it (`nsm run` prints these as they happen).
@Suite("Client events", .serialized)
struct ClientEventsTests {
    final class Recorder: Sendable {
        let events = Mutex<[NSMClientEvent]>([])
        func record(_ event: NSMClientEvent) { events.withLock { $0.append(event) } }
        var all: [NSMClientEvent] { events.withLock { $0 } }
    }

    @Test("labels sent to a service without matches are reported as choosing nothing")
    func labelsIgnored() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-c", node: 0, services: ["svc-l"], labels: ["app": "c"])
            let recorder = Recorder()
            let client = try mesh.client("kernel://svc-l/nsm-1?app=a", name: "pod-l", onEvent: recorder.record)
            let runner = ServiceRunner()
            runner.start([client])
            await client.ready()
            try await waitUntil("the ignored labels to be reported") {
                recorder.all.contains(.labelsIgnored(service: "svc-l", labels: "app=a"))
            }
            #expect(recorder.all.first { if case .labelsIgnored = $0 { true } else { false } }?.description.contains("nsm service register") == true)
            await runner.stopAll()
        }
    }

    @Test("a failing request is reported as it happens, with the reason")
    func requestFailed() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            let recorder = Recorder()
            let client = try mesh.client("kernel://svc-missing/nsm-1", name: "pod-f", onEvent: recorder.record)
            let runner = ServiceRunner()
            runner.start([client])
            try await waitUntil("the failure to be reported") {
                recorder.all.contains { event in
                    if case .requestFailed(let service, let error) = event { service == "svc-missing" && error.contains("not registered") } else { false }
                }
            }
            await runner.stopAll()
        }
    }
}

extension ClientEventsTests {
    @Test("a lost endpoint is reported as lost, then as healed onto the other one")
    func lostAndHealed() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            let (_, first) = try await mesh.addEndpoint("nse-h1", node: 0, services: ["svc-lh"])
            let recorder = Recorder()
            let client = try mesh.client("kernel://svc-lh/nsm-1", name: "pod-lh", onEvent: recorder.record)
            let runner = ServiceRunner()
            runner.start([client])
            await client.ready()
            try await mesh.addEndpoint("nse-h2", node: 0, services: ["svc-lh"], cidr: ["172.16.13.0/24"])
            await mesh.runnerKill(first)
            try await waitUntil("the heal to be reported", seconds: 15) {
                recorder.all.contains(.healed(service: "svc-lh", endpoint: "nse-h2"))
            }
            let events = recorder.all
            let lost = events.firstIndex { if case .lost(let service, _) = $0 { service == "svc-lh" } else { false } }
            let healed = events.firstIndex(of: .healed(service: "svc-lh", endpoint: "nse-h2"))
            #expect(lost != nil && healed != nil && lost! < healed!, "\(events)")
            await runner.stopAll()
        }
    }
}
