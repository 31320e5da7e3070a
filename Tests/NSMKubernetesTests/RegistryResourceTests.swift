import Foundation
import Kubernetes
import NSMAPI
import NSMKubernetes
import SwiftProtobuf
import Testing

@Suite("The registry's custom resources, in upstream's shape")
struct RegistryResourceTests {
    /// An NSE as upstream's registry-k8s stores it (upstream-nsm-notes §6.4; the same object the
    /// CRD interop test applies with kubectl).
    static let upstreamNSE = """
        {"apiVersion":"networkservicemesh.io/v1","kind":"NetworkServiceEndpoint",
         "metadata":{"name":"nse-kernel-5f7c9","namespace":"nsm-system","resourceVersion":"42"},
         "spec":{"name":"nse-kernel-5f7c9","network_service_names":["kernel2ethernet2kernel"],
                 "network_service_labels":{"kernel2ethernet2kernel":{"labels":{"app":"nse-kernel"}}},
                 "url":"tcp://10.244.1.5:5001","expiration_time":{"seconds":1707734808,"nanos":254775768},
                 "initial_registration_time":{"seconds":1707734748,"nanos":1},
                 "path_ids":["spiffe://k8s.nsm/ns/ns-kernel/pod/nse-kernel-5f7c9"]}}
        """

    @Test("an NSE written by upstream's registry reads as the registry message, and ours writes the same spec back")
    func endpointRoundTrip() throws {
        let resource = try JSONDecoder().decode(NetworkServiceEndpointResource.self, from: Data(Self.upstreamNSE.utf8))
        let endpoint = resource.endpoint
        #expect(endpoint.name == "nse-kernel-5f7c9" && endpoint.url == "tcp://10.244.1.5:5001")
        #expect(endpoint.networkServiceNames == ["kernel2ethernet2kernel"])
        #expect(endpoint.networkServiceLabels["kernel2ethernet2kernel"]?.labels == ["app": "nse-kernel"])
        #expect(endpoint.expirationTime.seconds == 1_707_734_808 && endpoint.expirationTime.nanos == 254_775_768)
        #expect(endpoint.initialRegistrationTime.seconds == 1_707_734_748)
        #expect(endpoint.pathIds == ["spiffe://k8s.nsm/ns/ns-kernel/pod/nse-kernel-5f7c9"])
        let ours = NetworkServiceEndpointResource(endpoint, namespace: "nsm-system")
        let upstreamSpec = try JSONDecoder().decode(JSONValue.self, from: Data(Self.upstreamNSE.utf8))["spec"]
        let ourSpec = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(ours))["spec"]
        #expect(ourSpec != nil && ourSpec == upstreamSpec)
        #expect(ours.apiVersion == "networkservicemesh.io/v1" && ours.kind == "NetworkServiceEndpoint" && ours.metadata.name == "nse-kernel-5f7c9")
    }

    @Test("empty fields are left out as Go's omitempty does; a missing spec.name is metadata.name")
    func omitEmpty() throws {
        var endpoint = Registry_NetworkServiceEndpoint()
        endpoint.name = "fwd-1"
        endpoint.networkServiceNames = ["forwarder"]
        let json = String(decoding: try JSONEncoder().encode(NetworkServiceEndpointResource(endpoint, namespace: "nsm-system")), as: UTF8.self)
        #expect(!json.contains("expiration_time") && !json.contains("url") && !json.contains("path_ids"))
        let handWritten = #"{"apiVersion":"networkservicemesh.io/v1","kind":"NetworkService","metadata":{"name":"my-svc"},"spec":{"payload":"ETHERNET"}}"#
        let service = try JSONDecoder().decode(NetworkServiceResource.self, from: Data(handWritten.utf8)).service
        #expect(service.name == "my-svc" && service.payload == "ETHERNET" && service.matches.isEmpty)
    }

    @Test("a NetworkService's matches survive the round trip")
    func serviceRoundTrip() throws {
        var service = Registry_NetworkService()
        service.name = "my-networkservice-1"
        service.payload = "ETHERNET"
        var match = Registry_Match()
        match.sourceSelector = ["app": "foo"]
        var destination = Registry_Destination()
        destination.destinationSelector = ["app": "foo"]
        destination.weight = 1
        match.routes = [destination]
        match.fallthrough = true
        var metadata = Registry_Metadata()
        metadata.labels = ["p2p": "true"]
        match.metadata = metadata
        service.matches = [match]
        let encoded = try JSONEncoder().encode(NetworkServiceResource(service, namespace: "default"))
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""source_selector":{"app":"foo"}"#))
        #expect(try JSONDecoder().decode(NetworkServiceResource.self, from: encoded).service == service)
    }
}
