public import Glibc
import Synchronization

/// How a process writes its log lines: `text` is logfmt (`ts=… level=… node=… msg="…" key=value`,
/// values quoted where needed), `json` one object a line. Both start with an RFC 3339 UTC
/// timestamp with milliseconds, the level and the node's name.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json

    /// One line (with its newline) in this format.
    public func line(
        level: TransportLogger.Level, node: String, message: String, metadata: [(String, String)], at time: timespec
    ) -> String {
        let ts = LogFormat.rfc3339(time)
        switch self {
        case .text:
            var out = "ts=\(ts) level=\(level) node=\(LogFormat.logfmt(node)) msg=\(LogFormat.logfmt(message))"
            for (key, value) in metadata { out += " \(key)=\(LogFormat.logfmt(value))" }
            return out + "\n"
        case .json:
            var out =
                "{\"ts\":\"\(ts)\",\"level\":\"\(level)\",\"node\":\(LogFormat.json(node)),\"msg\":\(LogFormat.json(message))"
            for (key, value) in metadata { out += ",\(LogFormat.json(key)):\(LogFormat.json(value))" }
            return out + "}\n"
        }
    }

    /// `2026-12-03T16:39:09.123Z`.
    static func rfc3339(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = Int(time.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }

    /// A logfmt value: bare when it has no space, quote, equals sign or control character, else
    /// quoted with `\"`, `\\`, `\n`, `\t` escaped.
    static func logfmt(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        return "\"" + escaped(value) + "\""
    }

    /// A JSON string literal.
    static func json(_ value: String) -> String { "\"" + escaped(value) + "\"" }

    static func escaped(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// The level and format of a process's log, changeable while it runs (SIGHUP): every logger
/// copied from one made by ``TransportLogger/standardError(node:settings:)`` reads them.
public final class LogSettings: Sendable {
    /// The level's raw value: read on every log call, written or filtered, so an atomic, not a lock.
    private let levelValue: Atomic<Int>
    private let formatValue: Mutex<LogFormat>

    public init(level: TransportLogger.Level = .info, format: LogFormat = .text) {
        levelValue = Atomic(level.rawValue)
        formatValue = Mutex(format)
    }

    public var level: TransportLogger.Level { TransportLogger.Level(rawValue: levelValue.load(ordering: .relaxed)) ?? .info }
    public var format: LogFormat { formatValue.withLock { $0 } }

    public func set(level: TransportLogger.Level, format: LogFormat) {
        formatValue.withLock { $0 = format }
        levelValue.store(level.rawValue, ordering: .relaxed)
    }
}
