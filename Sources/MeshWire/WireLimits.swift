import MeshCore

/// Every bound the decoder enforces, in one place (TigerStyle: a limit on everything).
///
/// Field-specific limits (the longest region code, the most pools in a delta) live beside the
/// field in the message definitions and in `Protocols/SPEC.md`; these are the global ones.
public struct WireLimits: Sendable, Equatable {
    /// The largest frame, counting the length field and the header. Negotiated in HELLO/WELCOME
    /// as the minimum of both sides' values, and never above ``hardMaxFrameBytes``.
    public var maxFrameBytes: Int
    /// The deepest nesting of recursive structures a decoder follows. Policy expressions are the
    /// only recursive structure of wire version 1, so this equals ``MeshCore/PolicyExpr/maxDepth``.
    public var maxNestingDepth: Int
    /// The most tagged fields in one tagged section.
    public var maxTaggedFields: Int

    /// The default frame limit: 1 MiB.
    public static let defaultMaxFrameBytes = 1 << 20
    /// No negotiation may raise the frame limit above 16 MiB.
    public static let hardMaxFrameBytes = 16 << 20
    /// The smallest frame limit a peer may ask for: 4 KiB.
    public static let minMaxFrameBytes = 4 << 10

    public init(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes, maxNestingDepth: Int = 8, maxTaggedFields: Int = 64) {
        precondition(
            (WireLimits.minMaxFrameBytes...WireLimits.hardMaxFrameBytes).contains(maxFrameBytes),
            "maxFrameBytes \(maxFrameBytes) outside \(WireLimits.minMaxFrameBytes)...\(WireLimits.hardMaxFrameBytes)")
        precondition(maxTaggedFields > 0, "limits must be positive")
        // A deeper limit would let a decoder accept a policy that no encoder may write.
        precondition(
            (1...PolicyExpr.maxDepth).contains(maxNestingDepth),
            "maxNestingDepth \(maxNestingDepth) outside 1...\(PolicyExpr.maxDepth)")
        self.maxFrameBytes = maxFrameBytes
        self.maxNestingDepth = maxNestingDepth
        self.maxTaggedFields = maxTaggedFields
    }

    /// The defaults of wire version 1.
    public static let `default` = WireLimits()
}
