/// A latency histogram in Prometheus' shape: counts at fixed upper bounds (seconds), a sum and a
/// count. A value type without I/O, so cores can keep one.
public struct LatencyHistogram: Hashable, Sendable {
    /// Upper bounds in seconds, ascending; `+Inf` is implied.
    public static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    /// Observations at or below each bound (not cumulative; the renderer accumulates).
    public private(set) var buckets = [UInt64](repeating: 0, count: LatencyHistogram.bounds.count)
    public private(set) var count: UInt64 = 0
    public private(set) var sum: Double = 0

    public init() {}

    public mutating func observe(seconds: Double) {
        count += 1
        sum += seconds
        if let i = LatencyHistogram.bounds.firstIndex(where: { seconds <= $0 }) { buckets[i] += 1 }
    }

    /// The histogram's sample lines (`_bucket`, `_sum`, `_count`) for `name` with `labels`.
    public func lines(_ name: String, labels: String = "") -> String {
        let prefix = labels.isEmpty ? "" : labels + ","
        var out = ""
        var cumulative: UInt64 = 0
        for (bound, n) in zip(LatencyHistogram.bounds, buckets) {
            cumulative += n
            out += "\(name)_bucket{\(prefix)le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)\n"
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        out += "\(name)_sum\(braces) \(sum)\n\(name)_count\(braces) \(count)\n"
        return out
    }
}
