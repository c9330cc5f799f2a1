public import MeshCore

/// Checks an inventory record's origin signature. Injected so that the gossip core stays pure:
/// the security layer supplies an Ed25519 verifier; tests and the simulator may accept all.
public protocol RecordVerifier: Sendable {
    /// Whether `record` carries a valid signature by its origin. A record that fails MUST NOT be
    /// stored or relayed.
    func verify(_ record: InventoryRecord) -> Bool
    /// Whether `summary` carries a valid signature by its regional origin.
    func verify(_ summary: RegionSummary) -> Bool
}

/// Accepts every record: for tests and simulations before signing is configured.
public struct AcceptAllVerifier: RecordVerifier {
    public init() {}
    public func verify(_ record: InventoryRecord) -> Bool { true }
    public func verify(_ summary: RegionSummary) -> Bool { true }
}

/// Measures a record's encoded size, so deltas can be cut to a byte budget without the core
/// depending on the codec. The node injects the real codec's measure.
public protocol RecordSizer: Sendable {
    /// Bytes `record` takes inside a DELTA.
    func encodedBytes(_ record: InventoryRecord) -> Int
}

/// A conservative estimate for tests: fixed header plus the variable parts.
public struct EstimatingSizer: RecordSizer {
    public init() {}
    public func encodedBytes(_ record: InventoryRecord) -> Int {
        var bytes = 32 + 10 + 10 + 16 + 1 + 1 + record.signature.count + 1
        switch record.body {
        case .descriptor(let d):
            bytes +=
                64 + d.id.path.reduce(0) { $0 + $1.utf8.count + 1 } + d.accelerators.count * 64
                + d.certifications.count * 24 + d.services.count * 24 + d.displayName.utf8.count
        case .availability(let a): bytes += 48 + a.id.path.reduce(0) { $0 + $1.utf8.count + 1 } + a.freeAccelerators.count * 5
        case .tombstone(let id): bytes += 34 + id.path.reduce(0) { $0 + $1.utf8.count + 1 }
        }
        return bytes
    }
}

/// Bounds and timers of inventory dissemination.
public struct GossipConfig: Hashable, Sendable {
    /// Buckets in a digest: its size is fixed (8 bytes each), whatever the number of origins.
    public var bucketCount: Int
    /// The most delta bytes this node accepts in one answer (advertised in its digests).
    public var maxDeltaBytes: UInt32
    /// Tombstones older than this are dropped (peers that have not heard by then get the
    /// descriptor's absence from the origin's next records).
    public var tombstoneHorizonMilliseconds: UInt64
    /// How many times a node pushes a record it newly learned (rumour mongering); each duplicate
    /// it receives costs one push (it loses interest).
    public var pushTransmissions: Int
    /// How many times the origin pushes its own new record.
    public var originPushTransmissions: Int
    /// The most origins held (one region's nodes).
    public var maxOrigins: Int
    /// The most current records held per origin.
    public var maxRecordsPerOrigin: Int
    /// The most records waiting to be pushed.
    public var maxHotRecords: Int
    /// The most entries in one digest (the wire allows 1024). 38 entries of about 36 bytes plus
    /// 64 bucket hashes keep a DIGEST frame under 2 KB.
    public var maxDigestEntries: Int

    public init(
        bucketCount: Int = 64, maxDeltaBytes: UInt32 = 64 << 10, tombstoneHorizonMilliseconds: UInt64 = 600_000,
        pushTransmissions: Int = 1, originPushTransmissions: Int = 3, maxOrigins: Int = 4096, maxRecordsPerOrigin: Int = 512,
        maxHotRecords: Int = 4096, maxDigestEntries: Int = 38
    ) {
        precondition(bucketCount > 0 && bucketCount <= 256, "the wire carries 1...256 buckets")
        precondition(maxDigestEntries > 0 && maxDigestEntries <= 1024, "the wire carries at most 1024 entries")
        self.bucketCount = bucketCount
        self.maxDeltaBytes = maxDeltaBytes
        self.tombstoneHorizonMilliseconds = tombstoneHorizonMilliseconds
        self.pushTransmissions = pushTransmissions
        self.originPushTransmissions = originPushTransmissions
        self.maxOrigins = maxOrigins
        self.maxRecordsPerOrigin = maxRecordsPerOrigin
        self.maxHotRecords = maxHotRecords
        self.maxDigestEntries = maxDigestEntries
    }

    /// ComputeMesh's defaults.
    public static let computeMesh = GossipConfig()
}

/// Why an incoming record was not stored.
public enum RecordRejection: Hashable, Sendable {
    /// Its signature did not verify.
    case badSignature
    /// Older than what is held (or a duplicate).
    case stale
    /// Past its valid-until.
    case expired
    /// A bound was reached.
    case full
}
