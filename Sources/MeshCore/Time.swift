/// Time inside the cores: ticks of one millisecond.
///
/// Cores never read a clock. The shell passes the current ``MeshInstant`` with every event: the
/// daemon from the wall clock (milliseconds since the Unix epoch, so instants mean the same on
/// every node and can travel in frames), the simulator from its virtual clock (starting at zero).
/// Integer ticks keep arithmetic exact and runs reproducible.
public struct MeshInstant: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since the epoch of the clock that produced the instant.
    public var milliseconds: UInt64

    public init(milliseconds: UInt64) { self.milliseconds = milliseconds }

    /// The epoch itself.
    public static let zero = MeshInstant(milliseconds: 0)

    public static func < (lhs: MeshInstant, rhs: MeshInstant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// Saturates at the largest instant instead of overflowing.
    public static func + (lhs: MeshInstant, rhs: MeshDuration) -> MeshInstant {
        let (sum, overflow) = lhs.milliseconds.addingReportingOverflow(rhs.milliseconds)
        return MeshInstant(milliseconds: overflow ? .max : sum)
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later (clocks of different
    /// nodes disagree a little; an age is never negative).
    public func since(_ earlier: MeshInstant) -> MeshDuration {
        MeshDuration(milliseconds: milliseconds >= earlier.milliseconds ? milliseconds - earlier.milliseconds : 0)
    }

    public var description: String { "t+\(milliseconds)ms" }
}

/// A span of ticks (milliseconds).
public struct MeshDuration: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var milliseconds: UInt64

    public init(milliseconds: UInt64) { self.milliseconds = milliseconds }

    public static func milliseconds(_ value: UInt64) -> MeshDuration { MeshDuration(milliseconds: value) }
    public static func seconds(_ value: UInt64) -> MeshDuration { MeshDuration(milliseconds: value * 1000) }
    public static func minutes(_ value: UInt64) -> MeshDuration { MeshDuration(milliseconds: value * 60_000) }
    public static let zero = MeshDuration(milliseconds: 0)

    public static func < (lhs: MeshDuration, rhs: MeshDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }
    public static func + (lhs: MeshDuration, rhs: MeshDuration) -> MeshDuration {
        MeshDuration(milliseconds: lhs.milliseconds &+ rhs.milliseconds)
    }
    public static func * (lhs: MeshDuration, rhs: UInt64) -> MeshDuration {
        MeshDuration(milliseconds: lhs.milliseconds &* rhs)
    }

    public var description: String { "\(milliseconds)ms" }
}
