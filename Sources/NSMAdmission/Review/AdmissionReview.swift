public import Kubernetes

/// `admission.k8s.io/v1` AdmissionReview as the API server sends and reads it: the request with
/// the object as JSON, and the response with an optional base64 JSON Patch and warnings.
public struct AdmissionReview: Codable, Sendable {
    public var apiVersion: String = "admission.k8s.io/v1"
    public var kind: String = "AdmissionReview"
    public var request: Request?
    public var response: Response?

    public struct GroupVersionKind: Codable, Sendable, Equatable {
        public var group: String
        public var version: String
        public var kind: String
        public init(group: String, version: String, kind: String) {
            self.group = group
            self.version = version
            self.kind = kind
        }
    }

    public struct Request: Codable, Sendable {
        public var uid: String
        public var kind: GroupVersionKind
        public var operation: String
        public var name: String?
        public var namespace: String?
        public var object: JSONValue?
        public var oldObject: JSONValue?
        public var dryRun: Bool?
    }

    public struct Response: Codable, Sendable {
        public struct Status: Codable, Sendable {
            public var code: Int
            public var message: String
            public var reason: String?
        }
        public var uid: String
        public var allowed: Bool
        public var status: Status?
        public var patchType: String?
        /// Base64 of the RFC 6902 patch.
        public var patch: String?
        public var warnings: [String]?

        public static func allow(_ uid: String, warnings: [String] = []) -> Response {
            Response(uid: uid, allowed: true, warnings: warnings.isEmpty ? nil : warnings)
        }

        public static func deny(_ uid: String, _ message: String) -> Response {
            Response(uid: uid, allowed: false, status: Status(code: 403, message: message, reason: "Forbidden"))
        }
    }

    public init(response: Response) { self.response = response }
}
