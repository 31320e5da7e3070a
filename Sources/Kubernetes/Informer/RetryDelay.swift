/// Exponential back-off with jitter for an informer's LIST and WATCH retries (client-go's
/// reflector backs off the same way): 200 ms doubling to `maximum`, each delay ±20 %; a 429's
/// `Retry-After` is honoured when longer.
struct RetryDelay: Sendable {
    var initial: Duration = .milliseconds(200)
    var maximum: Duration = .seconds(30)
    private(set) var failures = 0

    mutating func next(after error: any Error) -> Duration {
        var seconds = min(Self.seconds(initial) * Double(1 << min(failures, 20)), Self.seconds(maximum))
        failures += 1
        seconds *= Double.random(in: 0.8...1.2)
        if let status = (error as? KubernetesError)?.status, let retry = status.details?.retryAfterSeconds, Double(retry) > seconds {
            seconds = Double(retry)
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    mutating func reset() { failures = 0 }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
