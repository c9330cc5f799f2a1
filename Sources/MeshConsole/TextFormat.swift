public import Foundation
public import MeshCore
public import MeshWire

/// How values read in the console's text output (the JSON output has its own forms,
/// ``ConsoleJSON``).
public enum TextFormat {
    /// `850 ms`, `12.5 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`.
    public static func duration(_ d: MeshDuration) -> String {
        let ms = d.milliseconds
        if ms < 1000 { return "\(ms) ms" }
        if ms < 60_000 { return String(format: "%.1f s", Double(ms) / 1000) }
        if ms < 3_600_000 { return "\(ms / 60_000) min \(ms % 60_000 / 1000) s" }
        if ms < 86_400_000 { return "\(ms / 3_600_000) h \(ms % 3_600_000 / 60_000) min" }
        return "\(ms / 86_400_000) d \(ms % 86_400_000 / 3_600_000) h"
    }

    /// A member's round trip: `0.8 ms`, `12 ms`, `1.5 s`; `-` when unknown (issue 17).
    public static func roundTrip(_ entry: MemberRoundTrip?) -> String {
        guard let micros = entry?.microseconds else { return "-" }
        if micros < 10_000 {
            let tenths = (micros + 50) / 100
            return tenths % 10 == 0 ? "\(tenths / 10) ms" : "\(tenths / 10).\(tenths % 10) ms"
        }
        if micros < 1_000_000 { return "\((micros + 500) / 1000) ms" }
        return String(format: "%.1f s", Double(micros) / 1_000_000)
    }

    /// `2026-12-03 19:05:00` (UTC; the headers and sentences say so).
    public static func instant(_ t: MeshInstant) -> String {
        var seconds = time_t(t.milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `¥2.50`.
    public static func price(_ p: Price) -> String { String(format: "¥%.2f", Double(p.microYuan) / 1_000_000) }

    /// `512 MiB`, `80 GiB`, `8.0 TiB`.
    public static func memory(_ mib: UInt64) -> String {
        mib >= 1024 * 1024
            ? String(format: "%.1f TiB", Double(mib) / 1_048_576) : mib >= 1024 ? "\(mib / 1024) GiB" : "\(mib) MiB"
    }

    /// A pool's admission policy in words: `any`, `finance,research`, `not (tenants t1)`.
    public static func policy(_ p: PolicyExpr) -> String {
        switch p {
        case .acceptAll: return "any"
        case .refuseAll: return "none (drained)"
        case .sectorIn(let s): return s.map(\.name).joined(separator: ",")
        case .tenantIn(let t): return "tenants " + t.map(\.name).joined(separator: ",")
        case .regionIn(let r): return "regions " + r.map(\.code).joined(separator: ",")
        case .not(let inner): return "not (\(policy(inner)))"
        case .all(let terms): return terms.map(policy).joined(separator: " and ")
        case .any(let terms): return terms.map(policy).joined(separator: " or ")
        }
    }

    /// A score in [0, 1] from parts per million: `0.812`.
    public static func score(_ ppm: UInt32) -> String { String(format: "%.3f", Double(ppm) / 1_000_000) }

    /// What a request asks for, in words.
    public static func demand(_ d: Demand) -> String {
        var parts: [String] = []
        if let a = d.accelerator { parts.append("\(d.acceleratorCount) × \(a)") }
        parts.append("\(d.computeUnits) compute units")
        if d.memoryMiB > 0 { parts.append(memory(d.memoryMiB)) }
        parts.append(d.mode == .gang ? "in one pool" : "over up to \(d.maxPools) pools")
        return parts.joined(separator: ", ")
    }

    /// `a`, or `-` for nothing.
    static func orDash(_ text: String) -> String { text.isEmpty ? "-" : text }
}

extension FilterReason {
    /// The reason's name in the console's output, text and JSON alike.
    public var name: String {
        switch self {
        case .stale: "stale-inventory"
        case .residency: "residency"
        case .certification: "certification"
        case .architecture: "architecture"
        case .price: "price"
        case .latency: "latency"
        case .capacity: "capacity"
        case .policy: "pool-policy"
        case .acceleratorClass: "accelerator-class"
        case .ownerRefused: "owner-refused"
        case .unreachable: "owner-unreachable"
        }
    }
}

extension EventKind {
    /// The kind's name in the console's output.
    public var name: String {
        switch self {
        case .membership: "membership"
        case .inventory: "inventory"
        case .placement: "placement"
        case .security: "security"
        case .lifecycle: "lifecycle"
        }
    }
}

extension EventSeverity {
    /// The severity's name in the console's output.
    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }
}

extension PlacementMode {
    /// The mode's name in the console's output.
    public var name: String {
        switch self {
        case .gang: "gang"
        case .spread: "spread"
        }
    }
}
