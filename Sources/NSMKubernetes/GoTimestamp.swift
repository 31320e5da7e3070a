import SwiftProtobuf

/// A protobuf Timestamp as Go's encoding/json writes the struct (upstream's registry-k8s
/// stores specs that way): `{"seconds": N, "nanos": M}`, not protojson's RFC 3339 string.
struct GoTimestamp: Codable, Sendable, Equatable {
    var seconds: Int64?
    var nanos: Int32?

    init(_ timestamp: Google_Protobuf_Timestamp) {
        seconds = timestamp.seconds == 0 ? nil : timestamp.seconds
        nanos = timestamp.nanos == 0 ? nil : timestamp.nanos
    }

    var timestamp: Google_Protobuf_Timestamp {
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = seconds ?? 0
        timestamp.nanos = nanos ?? 0
        return timestamp
    }
}

extension Array {
    /// nil for an empty array: Go's `omitempty` leaves the field out.
    var nonEmpty: Self? { isEmpty ? nil : self }
}

extension Dictionary {
    var nonEmpty: Self? { isEmpty ? nil : self }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
