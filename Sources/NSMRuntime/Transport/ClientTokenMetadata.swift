import Foundation
import GRPCCore
import LeanGRPC
import NSMAPI
import NSMCore
import SwiftProtobuf

/// Upstream's per-call credentials: every NetworkService call carries the caller's token for the
/// server as `nsm-client-token` and its expiry as `nsm-client-token-expires` (RFC 3339 with
/// nanoseconds), beside the same token in the caller's own path segment. A server takes them
/// into the caller's segment (upstream's `updatetoken`), so a client that sends the token only as
/// metadata is understood, and the metadata wins where the two differ — what the token checks
/// then verify is what upstream's would.
enum ClientTokenMetadata {
    static let tokenKey = "nsm-client-token"
    static let expiresKey = "nsm-client-token-expires"

    /// The metadata for `connection`'s own segment (`path.index`); none when it carries no token.
    static func metadata(for connection: Connection_Connection) -> CallMetadata {
        let index = Int(connection.path.index)
        guard index < connection.path.pathSegments.count else { return [] }
        let segment = connection.path.pathSegments[index]
        guard !segment.token.isEmpty, segment.hasExpires else { return [] }
        return headers(token: segment.token, expires: segment.expires)
    }

    /// The two headers for `token`, expiring at `expires`.
    static func headers(token: String, expires: Google_Protobuf_Timestamp) -> CallMetadata {
        [(tokenKey, token), (expiresKey, RFC3339Nano.format(expires))]
    }

    /// Puts the caller's `nsm-client-token` and its expiry, when it sent them, into its path
    /// segment (`path.index`). One without the other, more than one of either, or an expiry that
    /// is not RFC 3339 is `INVALID_ARGUMENT` naming the header; a path with no segment for the
    /// caller is left for the chain to refuse.
    static func adopt(_ metadata: Metadata, into connection: inout Connection_Connection) throws {
        let tokens = Array(metadata[stringValues: tokenKey]), expiries = Array(metadata[stringValues: expiresKey])
        if tokens.isEmpty, expiries.isEmpty { return }
        guard tokens.count == 1, expiries.count == 1 else {
            throw NSMError.invalidArgument(
                "\(tokenKey) and \(expiresKey) go together, once each (got \(tokens.count) and \(expiries.count))")
        }
        guard let expires = RFC3339Nano.parse(expiries[0]) else {
            throw NSMError.invalidArgument(
                "\(expiresKey) \"\(expiries[0].prefix(64))\" is not an RFC 3339 time (accepted: 2006-01-02T15:04:05.999999999Z07:00)")
        }
        let index = Int(connection.path.index)
        guard index < connection.path.pathSegments.count else { return }
        connection.path.pathSegments[index].token = tokens[0]
        connection.path.pathSegments[index].expires = expires
    }
}

/// RFC 3339 times as Go's `time.RFC3339Nano` writes them (fraction without trailing zeros, `Z`
/// for UTC) and reads them (any fraction up to nanoseconds, `Z` or an offset).
enum RFC3339Nano {
    static func format(_ time: Google_Protobuf_Timestamp) -> String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        if time.nanos > 0 {
            var fraction = String(format: "%09d", Int(time.nanos))
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    static func parse(_ text: String) -> Google_Protobuf_Timestamp? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func at(_ index: Int, _ character: Character) -> Bool { index < bytes.count && bytes[index] == character.asciiValue }
        guard let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"), let day = number(8..<10),
              at(10, "T") || at(10, "t"), let hour = number(11..<13), at(13, ":"), let minute = number(14..<16), at(16, ":"),
              let second = number(17..<19), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var nanos = 0
        if at(index, ".") {
            index += 1
            let start = index
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
            let digits = index - start
            guard (1...9).contains(digits), let fraction = number(start..<index) else { return nil }
            nanos = fraction * Int(pow(10, Double(9 - digits)))
        }
        var offset = 0
        if at(index, "Z") || at(index, "z") {
            index += 1
        } else if at(index, "+") || at(index, "-"), let hours = number(index + 1..<index + 3), at(index + 3, ":"),
                  let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60 {
            offset = (hours * 60 + minutes) * 60 * (at(index, "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        var time = Google_Protobuf_Timestamp()
        time.seconds = Int64(timegm(&parts)) - Int64(offset)
        time.nanos = Int32(nanos)
        return time
    }
}
