/// The API server's `Status` object: what every failed call answers with (and what a watch's
/// ERROR event carries).
public struct KubernetesStatus: Codable, Sendable, Equatable {
    public struct Details: Codable, Sendable, Equatable {
        public struct Cause: Codable, Sendable, Equatable {
            public var reason: String?
            public var message: String?
            public var field: String?

            public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
                self.reason = reason
                self.message = message
                self.field = field
            }
        }
        public var name: String?
        public var group: String?
        public var kind: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?

        public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [Cause]? = nil, retryAfterSeconds: Int? = nil) {
            self.name = name
            self.group = group
            self.kind = kind
            self.causes = causes
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    public var kind: String?
    public var apiVersion: String?
    /// `Success` or `Failure`.
    public var status: String?
    public var message: String?
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Expired`, `Gone`, `TooManyRequests`, …
    public var reason: String?
    public var details: Details?
    public var code: Int?

    public init(status: String? = "Failure", message: String?, reason: String?, code: Int?, details: Details? = nil) {
        kind = "Status"
        apiVersion = "v1"
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
        self.details = details
    }
}

/// A call the API server refused, with its `Status`: the message is the server's own
/// (`networkserviceendpoints.networkservicemesh.io "x" already exists`), followed by the causes
/// of an `Invalid` one — never just "HTTP 409".
public struct KubernetesError: Error, CustomStringConvertible, Sendable, Equatable {
    public var status: KubernetesStatus
    /// What was being done (`create networkserviceendpoints in nsm-system`).
    public var operation: String

    public init(status: KubernetesStatus, operation: String) {
        self.status = status
        self.operation = operation
    }

    public var code: Int { status.code ?? 0 }
    public var reason: String { status.reason ?? "" }

    public var isNotFound: Bool { code == 404 }
    public var isAlreadyExists: Bool { code == 409 && reason == "AlreadyExists" }
    public var isConflict: Bool { code == 409 && reason != "AlreadyExists" }
    /// The version asked for is gone (a too-old watch or an expired `continue`): list again.
    public var isExpired: Bool { code == 410 || reason == "Expired" || reason == "Gone" }

    public var description: String {
        var text = "\(operation): \(status.message ?? status.reason ?? "HTTP \(code)")"
        let causes = (status.details?.causes ?? []).map { cause in
            [cause.field, cause.message].compactMap { $0 }.joined(separator: ": ")
        }.filter { !$0.isEmpty }
        if !causes.isEmpty, !(status.message ?? "").contains(causes[0]) { text += " (" + causes.joined(separator: "; ") + ")" }
        if let code = status.code { text += " [\(code)\(status.reason.map { " \($0)" } ?? "")]" }
        return text
    }
}
