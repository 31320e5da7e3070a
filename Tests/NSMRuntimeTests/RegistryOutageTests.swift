import Foundation
import NSMAPI
import NSMCore
import NSMRegistry
import NSMRuntime
import SwiftProtobuf
import Testing

/// The data path and connections to live endpoints survive a registry outage of any length.
@Suite("Registry outage", .serialized)
struct RegistryOutageTests {
    @Test("registry away past every registration's expiry: refreshes go on, nothing is torn down; a dead endpoint's pod moves to a spare registered before the outage and its other service is untouched")
    func outlivesExpiry() async throws {
        // Registrations last 3 s (renewed every 2 s): short enough to run out during the outage,
        // long enough that a renewal late under load does not drop an endpoint from the view
        // just before the registry goes away.
        try await Mesh.with(nodes: 1, expirePeriod: .seconds(3)) { mesh in
            let (_, handle1) = try await mesh.addEndpoint("nse-o1", node: 0, services: ["svc-o"], cidr: ["172.16.10.0/24"])
            let (_, handle2) = try await mesh.addEndpoint("nse-o2", node: 0, services: ["svc-o"], cidr: ["172.16.11.0/24"])
            try await mesh.addEndpoint("nse-q", node: 0, services: ["svc-q"], cidr: ["172.16.12.0/24"])
            let events = ClientEventsTests.Recorder()
            let client = try mesh.client("kernel://svc-o/nsm-1, kernel://svc-q/nsm-2", name: "pod-o", onEvent: events.record)
            let runner = ServiceRunner()
            runner.start([client])
            await client.ready()
            let before = client.connections
            let serving = before[0].networkServiceEndpointName
            let spare = serving == "nse-o1" ? "nse-o2" : "nse-o1"
            let forwarderView = try #require(mesh.nodes[0].forwarder.registryView as? CachingRegistryReader)

            try await mesh.stopRegistry()
            try await waitUntil("the forwarder's registry view to go stale") { !forwarderView.isLive }
            // Every registration the views hold expires 3 s after its last renewal, which the
            // outage prevents: let that pass before asking anything of the mesh.
            let stopped = Date()
            try await waitUntil("the registrations to expire", seconds: 8) { Date().timeIntervalSince(stopped) > 3.5 }

            // A refresh of both connections needs no registry.
            let refreshed = try await client.connect()
            #expect(refreshed.map { $0.path.pathSegments.map(\.id) } == before.map { $0.path.pathSegments.map(\.id) })
            #expect(!mesh.nodes[0].dataPlane.history.contains { $0.hasPrefix("disconnect") })

            // The serving endpoint dies: the pod heals onto the spare from the last known view.
            await mesh.runnerKill(serving == "nse-o1" ? handle1 : handle2)
            do {
                try await waitUntil("the pod to heal onto \(spare)", seconds: 30) {
                    client.connections.first?.networkServiceEndpointName == spare
                }
            } catch {
                Issue.record("\(error); the client's events: \(events.all.map(\.description))")
                throw error
            }
            // Its other service kept its connection, untouched.
            #expect(client.connections[1].path.pathSegments.map(\.id) == before[1].path.pathSegments.map(\.id))
            let disconnects = mesh.nodes[0].dataPlane.history.filter { $0.hasPrefix("disconnect") }
            // Only the dead endpoint's connection was unplumbed (by the forwarder when the endpoint
            // went, and again by the heal's Close: disconnecting is idempotent).
            #expect(Set(disconnects) == ["disconnect \(before[0].path.pathSegments[2].id)"], "\(disconnects)")
            #expect(mesh.nodes[0].dataPlane.connected[before[1].path.pathSegments[2].id] != nil)
            await runner.stopAll()
        }
    }

    @Test("a registry that forgot the endpoint (restarted, not yet re-registered): a refresh still goes through, nothing is torn down")
    func registryForgot() async throws {
        try await Mesh.with(nodes: 1) { mesh in
            try await mesh.addEndpoint("nse-f", node: 0, services: ["svc-f"], cidr: ["172.16.14.0/24"])
            let client = try mesh.client("kernel://svc-f/nsm-1", name: "pod-f")
            let before = try await client.connect()
            try mesh.registry.storage.unregister(Registry_NetworkServiceEndpoint.with { $0.name = "nse-f" })
            try await waitUntil("the forwarder's view to lose nse-f") {
                try await mesh.nodes[0].forwarder.registryView.endpoints(matching: .with { $0.name = "nse-f" }).isEmpty
            }
            let refreshed = try await client.connect()
            #expect(refreshed.map { $0.path.pathSegments.map(\.id) } == before.map { $0.path.pathSegments.map(\.id) })
            #expect(!mesh.nodes[0].dataPlane.history.contains { $0.hasPrefix("disconnect") })
            await client.closeAll()
        }
    }
}
