import IPAddressing
import NSMAPI
import NSMCore
@testable import NSMElements
import Synchronization

/// The forwarder's mechanism elements in the forwarder's order, with one instance of each kept
/// across requests (as in a forwarder), toward a fixed next hop.
struct ForwarderMechanisms {
    let store = MetadataStore()
    let tunnelIP: IPAddress
    let dataPlane: DataPlaneElement
    let vni: VNIElement
    let nextHop: NSMURL

    init(tunnelIP: String = "192.168.240.2", nextHop: String = "unix:///run/nse.sock", plane: any ForwarderDataPlane = RecordingPlane()) throws {
        self.tunnelIP = IPAddress(tunnelIP)!
        self.nextHop = try NSMURL(nextHop)
        dataPlane = DataPlaneElement(plane)
        vni = VNIElement(tunnelIP: self.tunnelIP)
    }

    /// The elements, then `next` (the next hop's answer).
    func chain(then next: any NetworkServiceElement) -> NetworkServiceChain {
        NetworkServiceChain([
            MetadataElement(store: store),
            ClientURLElement(url: nextHop),
            IncomingMechanismElement(tunnelIP: tunnelIP),
            OutgoingMechanismElement(tunnelIP: tunnelIP),
            dataPlane,
            TunnelMTUElement(underlayMTU: 1500, family: tunnelIP.family),
            vni,
            MechanismTranslationElement(),
            next,
        ])
    }
}

/// Records what it is asked to plumb (a stand-in for the kernel data plane in these unit tests).
final class RecordingPlane: ForwarderDataPlane {
    let plumbed = Mutex<[Plumbing]>([])
    let unplumbed = Mutex<[Plumbing]>([])
    func connect(_ plumbing: Plumbing) async throws { plumbed.withLock { $0.append(plumbing) } }
    func disconnect(_ plumbing: Plumbing) async throws { unplumbed.withLock { $0.append(plumbing) } }
}

/// A local endpoint: answers with the requested kernel mechanism in its own namespace, or fails.
struct AnsweringEndpoint: NetworkServiceElement {
    var fail = false
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        if fail { throw NSMError.unavailable("endpoint refuses") }
        var connection = request.connection
        connection.mechanism = .kernel(interfaceName: request.mechanismPreferences[0].kernelInterfaceName, namespace: NamespaceURL("inode://4/77"))
        return connection
    }
    func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {}
}

/// The next node: answers the VXLAN preference, keeping its VNI or replacing it with `replacement`.
struct AnsweringNode: NetworkServiceElement {
    var replacement: UInt32?
    func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext) async throws -> Connection_Connection {
        var connection = request.connection
        var mechanism = request.mechanismPreferences[0]
        if let replacement { mechanism.vni = replacement }
        mechanism.vxlanDestinationIP = IPAddress("192.168.240.9")!
        connection.mechanism = mechanism
        return connection
    }
    func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {}
}

func tunnelRequest(id: String, from source: String = "192.168.240.1", vni: UInt32? = nil) -> Networkservice_NetworkServiceRequest {
    var req = request(id: id)
    var tunnel = Connection_Mechanism.vxlan(sourceIP: IPAddress(source)!)
    tunnel.vni = vni
    req.mechanismPreferences = [tunnel]
    return req
}
