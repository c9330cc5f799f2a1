import Glibc

/// A small value-type logger in the swift-log shape: a level, a label, metadata with dotted keys,
/// and a sink the owner passes in (tests capture lines in memory).
public struct TransportLogger: Sendable {
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case trace, debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }
    }

    /// Receives every line at or above ``minimumLevel``.
    public typealias Sink = @Sendable (Level, String, [(String, String)]) -> Void

    public var label: String
    public var minimumLevel: Level
    public var metadata: [(String, String)] = []
    /// When set, the level in force (it replaces ``minimumLevel``; it may change while the process runs).
    let settings: LogSettings?
    let sink: Sink

    public init(label: String, minimumLevel: Level = .info, sink: @escaping Sink) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.settings = nil
        self.sink = sink
    }

    init(label: String, settings: LogSettings, sink: @escaping Sink) {
        self.label = label
        self.minimumLevel = settings.level
        self.settings = settings
        self.sink = sink
    }

    /// Writes lines to standard error at `settings`' level, in its format (``LogFormat``), each
    /// naming `node`.
    public static func standardError(node: String, settings: LogSettings) -> TransportLogger {
        TransportLogger(label: node, settings: settings) { level, message, metadata in
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            FileDescriptorWriter.standardError(
                settings.format.line(level: level, node: node, message: message, metadata: metadata, at: now))
        }
    }

    /// Writes text lines to standard error at `minimumLevel`.
    public static func standardError(label: String, minimumLevel: Level = .info) -> TransportLogger {
        standardError(node: label, settings: LogSettings(level: minimumLevel))
    }

    /// Discards everything.
    public static let silent = TransportLogger(label: "silent", minimumLevel: .error) { _, _, _ in }

    /// A copy with more metadata.
    public func with(_ key: String, _ value: String) -> TransportLogger {
        var copy = self
        copy.metadata.append((key, value))
        return copy
    }

    public func log(_ level: Level, _ message: @autoclosure () -> String) {
        if level >= (settings?.level ?? minimumLevel) { sink(level, message(), metadata) }
    }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
}
