import Foundation
public import IPAddressing
public import Kubernetes
import Yams

/// Where a cluster keeps the prefixes it uses, read from the objects that say so. Every
/// function returns what it could read and, apart, what it could not (so one bad entry costs
/// that entry, not the list).
public enum ClusterPrefixSources {
    public struct Reading: Sendable, Equatable {
        public var prefixes: [IPPrefix] = []
        public var problems: [String] = []
    }

    /// `kube-system/kubeadm-config`'s `ClusterConfiguration`: `networking.podSubnet` and
    /// `networking.serviceSubnet` (comma-separated lists allowed).
    public static func kubeadm(_ configMap: UnstructuredObject) -> Reading {
        var reading = Reading()
        guard let text = configMap.fields["data"]?["ClusterConfiguration"]?.string else { return reading }
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            reading.problems.append("kube-system/kubeadm-config ClusterConfiguration is not YAML: \(error)")
            return reading
        }
        let networking = (loaded as? [String: Any])?["networking"] as? [String: Any]
        for key in ["podSubnet", "serviceSubnet"] {
            guard let value = networking?[key] as? String else { continue }
            add(value.split(separator: ","), from: "kubeadm-config networking.\(key)", to: &reading)
        }
        return reading
    }

    /// A Node's `spec.podCIDR` and `spec.podCIDRs`.
    public static func node(_ node: UnstructuredObject) -> Reading {
        var reading = Reading()
        let spec = node.fields["spec"]
        let cidrs = [spec?["podCIDR"]?.string].compactMap { $0 } + strings(spec?["podCIDRs"])
        add(cidrs, from: "node \(node.metadata.name ?? "") spec.podCIDRs", to: &reading)
        return reading
    }

    /// A Service's `spec.clusterIP(s)`, each as a host prefix (headless services have none).
    public static func service(_ service: UnstructuredObject) -> Reading {
        var reading = Reading()
        let spec = service.fields["spec"]
        let addresses = ([spec?["clusterIP"]?.string].compactMap { $0 } + strings(spec?["clusterIPs"])).filter { $0 != "None" && !$0.isEmpty }
        add(addresses, from: "service \(service.metadata.namespace ?? "")/\(service.metadata.name ?? "") spec.clusterIPs", to: &reading)
        return reading
    }

    /// A `networking.k8s.io/v1` ServiceCIDR's `spec.cidrs`.
    public static func serviceCIDR(_ object: UnstructuredObject) -> Reading {
        var reading = Reading()
        add(strings(object.fields["spec"]?["cidrs"]), from: "servicecidr \(object.metadata.name ?? "") spec.cidrs", to: &reading)
        return reading
    }

    /// The user's ConfigMap: the value of `key` is YAML with a `prefixes:` list.
    public static func userConfigMap(_ configMap: UnstructuredObject, key: String) -> Reading {
        var reading = Reading()
        guard let text = configMap.fields["data"]?[key]?.string else { return reading }
        let source = "configmap \(configMap.metadata.namespace ?? "")/\(configMap.metadata.name ?? "") key \(key)"
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            reading.problems.append("\(source) is not YAML: \(error)")
            return reading
        }
        let document = loaded as? [String: Any]
        guard let list = (document?["prefixes"] ?? document?["Prefixes"]) as? [Any] else {
            reading.problems.append("\(source): expected a prefixes: list, such as \"prefixes: [10.0.0.0/8]\"")
            return reading
        }
        add(list.map { "\($0)" }, from: source, to: &reading)
        return reading
    }

    /// The service range as the API server states it when asked to allocate an address outside
    /// it (`… The range of valid IPs is 10.96.0.0/12`, or two ranges for dual stack).
    public static func serviceRange(fromRefusal message: String) -> [IPPrefix] {
        guard let range = message.range(of: "range of valid IPs is ") else { return [] }
        return message[range.upperBound...].split(whereSeparator: { $0 == "," || $0 == " " })
            .compactMap { IPPrefix(String($0).trimmingCharacters(in: .punctuationCharacters.subtracting(.init(charactersIn: ":/.")))) }
    }

    static func strings(_ value: JSONValue?) -> [String] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap(\.string)
    }

    static func add(_ texts: [some StringProtocol], from source: String, to reading: inout Reading) {
        for text in texts.map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            if let prefix = IPPrefix(text, requireLength: false) {
                reading.prefixes.append(prefix.network)
            } else {
                reading.problems.append("\(source): \"\(text)\" is not an IP address or CIDR prefix")
            }
        }
    }
}
