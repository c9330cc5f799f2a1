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
    let sink: Sink

    public init(label: String, minimumLevel: Level = .info, sink: @escaping Sink) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    /// Writes lines to standard error.
    public static func standardError(label: String, minimumLevel: Level = .info) -> TransportLogger {
        TransportLogger(label: label, minimumLevel: minimumLevel) { level, message, metadata in
            let meta = metadata.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            FileDescriptorWriter.standardError("\(level) \(label): \(message) \(meta)\n")
        }
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
        if level >= minimumLevel { sink(level, message(), metadata) }
    }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
}
