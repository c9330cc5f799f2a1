public import MeshCore

/// The version of an origin's log: epochs first, then sequences.
public struct RecordVersion: Hashable, Comparable, Sendable {
    public var epoch: UInt64
    public var sequence: UInt64
    public init(epoch: UInt64, sequence: UInt64) {
        self.epoch = epoch
        self.sequence = sequence
    }
    public static let zero = RecordVersion(epoch: 0, sequence: 0)
    public static func < (a: RecordVersion, b: RecordVersion) -> Bool { (a.epoch, a.sequence) < (b.epoch, b.sequence) }
}

/// What one origin has issued, as far as this node knows.
///
/// Logs live in one array sorted by origin (binary search) rather than a dictionary plus a sorted
/// key list: a node keeps one log per origin of its region, and a dictionary's slack (a slot of
/// key and value per quarter-empty bucket) and the duplicate key list cost about three times the
/// log itself. ``InventoryLayoutTests`` asserts the stride.
struct OriginLog: Hashable, Sendable {
    var origin: NodeID
    /// Every current record of the origin with a version at or below this is held (Scuttlebutt's
    /// per-origin version).
    var version: RecordVersion
    /// Current records, sorted by sequence. Each is a reference to its shared fields (see
    /// ``InventoryRecord``), kept exactly as merged so that copies decoded elsewhere stay shared.
    var records: [InventoryRecord]
}

/// A record waiting to be pushed.
struct HotRecord: Hashable, Sendable {
    var record: InventoryRecord
    var sendsLeft: Int
}

/// Scuttlebutt-style store of versioned inventory records, one log per origin, as a pure value.
///
/// - Merge is idempotent and commutative: a record is kept if it is the newest for its pool and
///   kind (descriptor or availability), and a tombstone supersedes both at lower sequences.
/// - Versions are monotonic: an origin's version only grows; a higher epoch resets the origin's log.
/// - Digests have a fixed size (``GossipConfig/bucketCount`` hashes); entries are listed only for
///   buckets that differ. Deltas go out in version order per origin, cut to the peer's budget.
public struct InventoryStore: Sendable {
    public let config: GossipConfig
    let verifier: any RecordVerifier
    let sizer: any RecordSizer

    /// One log per origin held, sorted by origin.
    var logs: [OriginLog] = []
    var bucketHashes: [UInt64]
    var hot: [HotRecord] = []

    /// Records refused, by reason (for metrics and tests).
    public private(set) var rejected: [RecordRejection: Int] = [:]
    /// Records received that were already held (each update received more than once).
    public private(set) var duplicateCount = 0
    /// Records stored for the first time.
    public private(set) var acceptedCount = 0

    public init(
        config: GossipConfig, verifier: any RecordVerifier = AcceptAllVerifier(), sizer: any RecordSizer = EstimatingSizer()
    ) {
        self.config = config
        self.verifier = verifier
        self.sizer = sizer
        bucketHashes = Array(repeating: 0, count: config.bucketCount)
    }

    // MARK: - Queries

    /// The version held for `origin` (zero when unknown).
    public func version(of origin: NodeID) -> RecordVersion {
        let (index, found) = search(origin)
        return found ? logs[index].version : .zero
    }

    /// The current records of `origin`, in sequence order.
    public func records(of origin: NodeID) -> [InventoryRecord] {
        let (index, found) = search(origin)
        guard found else { return [] }
        return logs[index].records
    }

    /// Every current record usable at `now` (not past valid-until, tombstones excluded), by origin
    /// then sequence.
    public func liveRecords(now: MeshInstant) -> [InventoryRecord] {
        var out: [InventoryRecord] = []
        for log in logs {
            for record in log.records where !isTombstone(record) && record.validUntil > now { out.append(record) }
        }
        return out
    }

    /// Every origin with its version, sorted by origin.
    public var versions: [DigestEntry] {
        logs.map { DigestEntry(origin: $0.origin, epoch: $0.version.epoch, sequence: $0.version.sequence) }
    }

    /// Origins held, sorted.
    var origins: [NodeID] { logs.map(\.origin) }

    /// The fixed-size digest: one hash per bucket.
    public var digestHashes: [UInt64] { bucketHashes }

    /// Number of origins held.
    public var originCount: Int { logs.count }

    /// Number of records waiting to be pushed.
    public var hotCount: Int { hot.count }

    // MARK: - Merge

    /// Stores the origin's own new record (already signed) and queues it for pushing.
    @discardableResult
    public mutating func issue(_ record: InventoryRecord, now: MeshInstant) -> RecordRejection? {
        let result = merge(record, now: now, complete: true, pushes: config.originPushTransmissions)
        return result
    }

    /// Merges records from a DELTA. `complete` is true for an answer to this node's own digest (it
    /// then holds everything the sender had up to each record's sequence) and false for a push.
    /// Returns how many records were new.
    @discardableResult
    public mutating func merge(_ records: [InventoryRecord], now: MeshInstant, complete: Bool) -> Int {
        var fresh = 0
        for record in records where merge(record, now: now, complete: complete, pushes: config.pushTransmissions) == nil {
            fresh += 1
        }
        return fresh
    }

    mutating func merge(_ record: InventoryRecord, now: MeshInstant, complete: Bool, pushes: Int) -> RecordRejection? {
        guard verifier.verify(record) else { return reject(.badSignature) }
        guard record.validUntil > now || isTombstone(record) else { return reject(.expired) }
        let (index, known) = search(record.origin)
        if !known, logs.count >= config.maxOrigins { return reject(.full) }
        if known, record.epoch < logs[index].version.epoch { return stale(record) }
        var log: OriginLog
        if known {
            // Moved out (not copied) so that changing its records does not copy them.
            log = logs[index]
            logs[index].records = []
        } else {
            log = OriginLog(origin: record.origin, version: .zero, records: [])
        }
        let before = log.version
        if record.epoch > log.version.epoch {
            // The origin restarted with lost state: its old records are void.
            log = OriginLog(origin: record.origin, version: RecordVersion(epoch: record.epoch, sequence: 0), records: [])
        }
        let outcome = place(record, in: &log)
        if complete {
            // An answer to our digest holds every current record of the sender up to this one.
            log.version.sequence = Swift.max(log.version.sequence, record.sequence)
        }
        // Advance over contiguous held sequences.
        for held in log.records where held.sequence == log.version.sequence + 1 { log.version.sequence += 1 }
        let bucket = InventoryStore.bucket(of: record.origin, count: config.bucketCount)
        if known {
            if log.version != before {
                bucketHashes[bucket] &-= InventoryStore.entryHash(record.origin, before)
                bucketHashes[bucket] &+= InventoryStore.entryHash(record.origin, log.version)
            }
            logs[index] = log
        } else {
            bucketHashes[bucket] &+= InventoryStore.entryHash(record.origin, log.version)
            logs.insert(log, at: index)
        }
        if let outcome { return outcome == .stale ? stale(record) : reject(outcome) }
        acceptedCount += 1
        if pushes > 0 {
            if hot.count >= config.maxHotRecords { hot.removeFirst() }
            hot.append(HotRecord(record: record, sendsLeft: pushes))
        }
        return nil
    }

    /// Puts `record` into `log` unless something held supersedes it.
    func place(_ record: InventoryRecord, in log: inout OriginLog) -> RecordRejection? {
        let id = record.body.computeID
        for held in log.records where held.body.computeID == id {
            if held.sequence >= record.sequence, sameKind(held.body, record.body) || isTombstone(held) { return .stale }
        }
        if record.epoch == log.version.epoch, record.sequence <= log.version.sequence {
            // At or below the version and not held: superseded or collected already.
            return .stale
        }
        if isTombstone(record) {
            log.records.removeAll { $0.body.computeID == id && $0.sequence < record.sequence }
        } else {
            log.records.removeAll {
                $0.body.computeID == id && $0.sequence < record.sequence && (sameKind($0.body, record.body) || isTombstone($0))
            }
        }
        guard log.records.count < config.maxRecordsPerOrigin else { return .full }
        let index = log.records.firstIndex { $0.sequence > record.sequence } ?? log.records.endIndex
        log.records.insert(record, at: index)
        return nil
    }

    mutating func stale(_ record: InventoryRecord) -> RecordRejection {
        duplicateCount += 1
        // Rumour mongering: a duplicate means the record is already widespread.
        if let index = hot.firstIndex(where: { $0.record == record }) {
            hot[index].sendsLeft -= 1
            if hot[index].sendsLeft <= 0 { hot.remove(at: index) }
        }
        return reject(.stale)
    }

    mutating func reject(_ reason: RecordRejection) -> RecordRejection {
        rejected[reason, default: 0] += 1
        return reason
    }

    func isTombstone(_ record: InventoryRecord) -> Bool { InventoryStore.isTombstone(record) }

    static func isTombstone(_ record: InventoryRecord) -> Bool {
        if case .tombstone = record.body { return true }
        return false
    }

    func sameKind(_ a: RecordBody, _ b: RecordBody) -> Bool {
        switch (a, b) {
        case (.descriptor, .descriptor), (.availability, .availability), (.tombstone, .tombstone): true
        default: false
        }
    }

    /// Where `origin`'s log is, or would be inserted, and whether it is held.
    func search(_ origin: NodeID) -> (Int, Bool) {
        let low = Bisection.partitionPoint(count: logs.count) { logs[$0].origin < origin }
        return (low, low < logs.count && logs[low].origin == origin)
    }

    // MARK: - Digests and deltas

    /// Which bucket an origin falls in. NodeIDs are hashes, so their first word is uniform.
    public static func bucket(of origin: NodeID, count: Int) -> Int { Int(origin.w0 % UInt64(count)) }

    /// A 64-bit mix of an origin's version; buckets sum them, so a bucket's hash is independent of
    /// insertion order and updated in O(1).
    static func entryHash(_ origin: NodeID, _ version: RecordVersion) -> UInt64 {
        var h = origin.w0 ^ (origin.w1 &* 0x9E37_79B9_7F4A_7C15) ^ (origin.w2 &* 0xC2B2_AE3D_27D4_EB4F) ^ origin.w3
        for word in [version.epoch, version.sequence] {
            h ^= word &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
            h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
            h = (h ^ (h >> 33)) &* 0xC4CE_B9FE_1A85_EC53
            h ^= h >> 33
        }
        return h
    }

    /// Buckets whose hash differs from the peer's (all buckets when the counts differ).
    public func differingBuckets(_ peerHashes: [UInt64]) -> [Int] {
        guard peerHashes.count == bucketHashes.count else { return Array(0..<bucketHashes.count) }
        return bucketHashes.indices.filter { bucketHashes[$0] != peerHashes[$0] }
    }

    /// This node's versions for the origins in `buckets`, at most ``GossipConfig/maxDigestEntries``.
    public func entries(inBuckets buckets: [Int]) -> [DigestEntry] {
        guard !buckets.isEmpty else { return [] }
        var wanted = Array(repeating: false, count: config.bucketCount)
        for b in buckets where b < wanted.count { wanted[b] = true }
        var out: [DigestEntry] = []
        for log in logs where wanted[InventoryStore.bucket(of: log.origin, count: config.bucketCount)] {
            let v = log.version
            out.append(DigestEntry(origin: log.origin, epoch: v.epoch, sequence: v.sequence))
            if out.count >= config.maxDigestEntries { break }
        }
        return out
    }

    /// Versions for a random selection of `buckets` whose origins fit within
    /// ``GossipConfig/maxDigestEntries`` (whole buckets only), and the buckets selected. Keeping the
    /// entries bounded is what keeps every digest frame small; the buckets left out are reconciled
    /// in later exchanges.
    public func entries(selectingFrom buckets: [Int], rng: inout SeededRandom) -> (entries: [DigestEntry], buckets: [Int]) {
        var perBucket = Array(repeating: [DigestEntry](), count: config.bucketCount)
        var wanted = Array(repeating: false, count: config.bucketCount)
        for b in buckets where b >= 0 && b < wanted.count { wanted[b] = true }
        for log in logs {
            let b = InventoryStore.bucket(of: log.origin, count: config.bucketCount)
            if wanted[b] {
                let v = log.version
                perBucket[b].append(DigestEntry(origin: log.origin, epoch: v.epoch, sequence: v.sequence))
            }
        }
        var entries: [DigestEntry] = []
        var selected: [Int] = []
        for b in rng.shuffled(buckets) where b >= 0 && b < wanted.count {
            if entries.count + perBucket[b].count <= config.maxDigestEntries {
                entries += perBucket[b]
                selected.append(b)
            }
        }
        return (entries, selected.sorted())
    }

    /// The records a peer lacks, given its entries for `buckets` (origins it did not list count as
    /// unknown to it), in version order per origin, cut to `maxBytes`. Returns the records and
    /// whether more were left out. Origins are visited from a random start so that a small budget
    /// does not always favour the same ones.
    public func delta(
        forPeerEntries entries: [DigestEntry], buckets: [Int], maxBytes: Int, rng: inout SeededRandom
    ) -> (records: [InventoryRecord], morePending: Bool) {
        var peer: [NodeID: RecordVersion] = [:]
        for entry in entries { peer[entry.origin] = RecordVersion(epoch: entry.epoch, sequence: entry.sequence) }
        var wanted = Array(repeating: false, count: config.bucketCount)
        for b in buckets where b < wanted.count { wanted[b] = true }
        let candidates = logs.indices.filter { wanted[InventoryStore.bucket(of: logs[$0].origin, count: config.bucketCount)] }
        guard !candidates.isEmpty else { return ([], false) }
        let start = rng.index(below: candidates.count)
        var out: [InventoryRecord] = []
        var bytes = 0
        for step in 0..<candidates.count {
            let log = logs[candidates[(start + step) % candidates.count]]
            let theirs = peer[log.origin] ?? .zero
            guard log.version > theirs || (theirs == .zero && !log.records.isEmpty) else { continue }
            for record in log.records
            where RecordVersion(epoch: record.epoch, sequence: record.sequence) > theirs {
                let size = sizer.encodedBytes(record)
                if bytes + size > maxBytes || out.count >= 4096 { return (out, true) }
                bytes += size
                out.append(record)
            }
        }
        return (out, false)
    }

    /// Records to push now, each counted against its pushes, up to `maxBytes`.
    public mutating func takePush(maxBytes: Int) -> [InventoryRecord] {
        var out: [InventoryRecord] = []
        var bytes = 0
        var index = 0
        while index < hot.count {
            let size = sizer.encodedBytes(hot[index].record)
            if bytes + size > maxBytes { break }
            bytes += size
            out.append(hot[index].record)
            hot[index].sendsLeft -= 1
            if hot[index].sendsLeft <= 0 { hot.remove(at: index) } else { index += 1 }
        }
        return out
    }

    // MARK: - Expiry

    /// Drops records past valid-until and tombstones past the GC horizon. Versions stay, so the
    /// dropped records are not fetched again.
    public mutating func expire(now: MeshInstant) {
        for index in logs.indices {
            let records = logs[index].records
            let kept = records.filter {
                isTombstone($0) ? now.since($0.issuedAt).milliseconds < config.tombstoneHorizonMilliseconds : $0.validUntil > now
            }
            if kept.count != records.count { logs[index].records = kept }
        }
        hot.removeAll { !InventoryStore.isTombstone($0.record) && $0.record.validUntil <= now }
    }
}
