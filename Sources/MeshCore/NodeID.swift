/// The identity of a node: the SHA-256 of its Ed25519 public key (32 raw bytes).
///
/// Deriving the ID from the key means a node cannot claim an ID it holds no key for: the TLS
/// handshake proves the key, and the certificate binds the key's hash. Stored as four words so
/// comparison and hashing are cheap; ordered lexicographically by its bytes.
public struct NodeID: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The digest as four big-endian words; `w0` holds bytes 0..<8.
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// The number of bytes in a NodeID on the wire.
    public static let byteCount = 32

    /// Wraps an existing 32-byte digest.
    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Wraps 32 raw bytes. Returns nil unless exactly 32 bytes are given.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == NodeID.byteCount else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, byte) in bytes.enumerated() { words[i / 8] = words[i / 8] << 8 | UInt64(byte) }
        self.init(w0: words[0], w1: words[1], w2: words[2], w3: words[3])
    }

    /// Derives the NodeID of an Ed25519 public key (its 32 raw bytes).
    ///
    /// - Precondition: `publicKey` is 32 bytes; a key of another length is a caller bug because
    ///   keys are checked where they enter the system.
    public init(ed25519PublicKey publicKey: [UInt8]) {
        precondition(publicKey.count == 32, "an Ed25519 public key is 32 bytes, got \(publicKey.count)")
        self.init(bytes: SHA256.hash(publicKey))!
    }

    /// Parses 64 hex digits.
    public init(hex: String) throws(VocabularyError) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex), let id = NodeID(bytes: bytes) else {
            throw VocabularyError(what: "node ID", input: hex, reason: "expected 64 hex digits (a SHA-256 digest)")
        }
        self = id
    }

    /// The 32 raw bytes, big-endian.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    /// All 64 hex digits.
    public var hex: String { Hex.encode(words: w0, w1, w2, w3) }

    /// The first 12 hex digits: enough to tell nodes apart in logs and consoles.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { hex }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}

extension NodeID {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { self = try NodeID(hex: text) }

    /// The text form (see ``TextCodable``).
    public var text: String { hex }
}
