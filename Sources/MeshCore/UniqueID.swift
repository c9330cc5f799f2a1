/// A 128-bit identifier drawn from a node's seeded generator: request, hold and lease IDs.
///
/// Each kind is its own type so a hold ID can never be passed where a lease ID is expected.
public protocol UniqueID128: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The identifier's 128 bits.
    var value: UInt128 { get }
    /// Wraps 128 bits.
    init(value: UInt128)
}

extension UniqueID128 {
    /// Draws a fresh identifier from `rng`; zero is never drawn because it means "none" on the wire.
    public static func random(using rng: inout SeededRandom) -> Self {
        while true {
            let value = UInt128(rng.next()) << 64 | UInt128(rng.next())
            if value != 0 { return Self(value: value) }
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    /// 32 hex digits.
    public var description: String {
        Hex.encode(words: UInt64(truncatingIfNeeded: value >> 64), UInt64(truncatingIfNeeded: value))
    }

    /// Parses 32 hex digits (the text form of ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(hex: text) }

    /// 32 hex digits (the text form of ``TextCodable``).
    public var text: String { description }

    /// Parses 32 hex digits.
    public init(hex: String) throws(VocabularyError) {
        guard hex.utf8.count == 32, let value = UInt128(hex, radix: 16) else {
            throw VocabularyError(what: "128-bit ID", input: hex, reason: "expected 32 hex digits")
        }
        self.init(value: value)
    }
}

/// Identifies one placement request end to end, across forwarding hops.
public struct RequestID: UniqueID128 {
    public let value: UInt128
    public init(value: UInt128) { self.value = value }
}

/// Identifies a hold: capacity an owner set aside for a quote, until it lapses or is confirmed.
public struct HoldID: UniqueID128 {
    public let value: UInt128
    public init(value: UInt128) { self.value = value }
}

/// Identifies a lease: capacity committed to a tenant until it expires or is released.
public struct LeaseID: UniqueID128 {
    public let value: UInt128
    public init(value: UInt128) { self.value = value }
}
