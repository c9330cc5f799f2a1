// MARK: - Records

/// What an inventory record says about one pool. Splitting the slow-changing descriptor from the
/// fast-changing availability is what makes gossip deltas field-level: a change of free capacity
/// travels without the pool's description.
///
/// The descriptor case is `indirect` (boxed on the heap): a ``PoolDescriptor`` is about three times
/// the size of a ``PoolAvailability``, and every record is as large as its largest case, so boxing
/// it keeps the frequent availability records (and every copy in logs, push queues and deltas)
/// small. ``InventoryLayoutTests`` asserts the bound. Value semantics and the wire are unchanged.
public enum RecordBody: Hashable, Sendable, Codable {
    /// The pool's description (wire kind 1).
    indirect case descriptor(PoolDescriptor)
    /// The pool's current free capacity and price (wire kind 2).
    case availability(PoolAvailability)
    /// The pool was withdrawn (wire kind 3).
    case tombstone(ComputeID)

    /// The pool the record is about.
    public var computeID: ComputeID {
        switch self {
        case .descriptor(let d): d.id
        case .availability(let a): a.id
        case .tombstone(let id): id
        }
    }
}

/// One versioned fact from one origin, in the manner of Scuttlebutt: (origin, epoch, sequence)
/// orders every record an origin ever issued. The epoch increases when the origin restarts with
/// lost state; the sequence increases with every record within an epoch.
///
/// A value type whose fields live in one immutable, shared heap object: a copy (into an origin's
/// log, a push queue, a delta, a persistence directive) costs a reference, not the record's
/// 200-odd bytes, and setting a field makes a new object, so value semantics are unchanged.
/// Why: every node keeps every record of its region, and the 10,000-node simulation (issue 3,
/// within 8 GiB) keeps 10,000 nodes' worth in one process, where records decoded from the same
/// bytes can then be shared (see `Simulator`). ``InventoryLayoutTests`` asserts the size.
public struct InventoryRecord: Hashable, Sendable, Codable {
    /// The fields, as the stored properties this type used to have (so the synthesized
    /// `Hashable` and `Codable`, and with them the JSON, are unchanged).
    struct Stored: Hashable, Sendable, Codable {
        var origin: NodeID
        var epoch: UInt64
        var sequence: UInt64
        var issuedAt: MeshInstant
        var validUntil: MeshInstant
        var body: RecordBody
        var signature: RecordSignature
    }

    /// The fields, never mutated after creation (so sharing one between copies is safe).
    final class Box: Sendable {
        let stored: Stored
        init(_ stored: Stored) { self.stored = stored }
    }

    private var box: Box

    /// Sets one field: a new box, since a box may be shared.
    private mutating func set<Value>(_ field: WritableKeyPath<Stored, Value>, _ value: Value) {
        var stored = box.stored
        stored[keyPath: field] = value
        box = Box(stored)
    }

    /// The node that issued the record (the only one that may).
    public var origin: NodeID {
        get { box.stored.origin }
        set { set(\.origin, newValue) }
    }
    /// The origin's epoch: higher after a restart that lost its state.
    public var epoch: UInt64 {
        get { box.stored.epoch }
        set { set(\.epoch, newValue) }
    }
    /// The record's place in the origin's log within the epoch.
    public var sequence: UInt64 {
        get { box.stored.sequence }
        set { set(\.sequence, newValue) }
    }
    /// When the origin issued the record.
    public var issuedAt: MeshInstant {
        get { box.stored.issuedAt }
        set { set(\.issuedAt, newValue) }
    }
    /// After this instant the record MUST NOT be used for decisions.
    public var validUntil: MeshInstant {
        get { box.stored.validUntil }
        set { set(\.validUntil, newValue) }
    }
    /// What the record says.
    public var body: RecordBody {
        get { box.stored.body }
        set { set(\.body, newValue) }
    }
    /// The origin's signature over the record (empty until signing is configured), held inline
    /// when it is the usual 64-byte Ed25519 signature (see ``RecordSignature``).
    public var signature: RecordSignature {
        get { box.stored.signature }
        set { set(\.signature, newValue) }
    }

    /// Creates a record; `signature` is any byte string (usually empty or a 64-byte Ed25519
    /// signature).
    public init(
        origin: NodeID, epoch: UInt64, sequence: UInt64, issuedAt: MeshInstant, validUntil: MeshInstant, body: RecordBody,
        signature: [UInt8] = []
    ) {
        self.init(
            origin: origin, epoch: epoch, sequence: sequence, issuedAt: issuedAt, validUntil: validUntil, body: body,
            signature: RecordSignature(signature))
    }

    /// Creates a record with a signature already in its stored form (no copy through an array).
    public init(
        origin: NodeID, epoch: UInt64, sequence: UInt64, issuedAt: MeshInstant, validUntil: MeshInstant, body: RecordBody,
        signature: RecordSignature
    ) {
        box = Box(
            Stored(
                origin: origin, epoch: epoch, sequence: sequence, issuedAt: issuedAt, validUntil: validUntil, body: body,
                signature: signature))
    }

    /// Whether `self` and `other` share one stored copy (then they are equal without comparing).
    public func sharesStorage(with other: InventoryRecord) -> Bool { box === other.box }

    /// Equal when every field is (shared storage is equal without comparing).
    public static func == (lhs: InventoryRecord, rhs: InventoryRecord) -> Bool {
        lhs.box === rhs.box || lhs.box.stored == rhs.box.stored
    }

    /// Hashes every field.
    public func hash(into hasher: inout Hasher) { box.stored.hash(into: &hasher) }

    /// Encodes the fields under their property names.
    public func encode(to encoder: any Encoder) throws { try box.stored.encode(to: encoder) }

    /// Decodes what ``encode(to:)`` wrote.
    public init(from decoder: any Decoder) throws { box = Box(try Stored(from: decoder)) }
}

/// A record's origin signature: a byte string, held without a heap allocation when it is empty
/// or exactly 64 bytes (an Ed25519 signature, the only kind the federation issues).
///
/// Why: every node keeps every record of its region, and the simulator keeps 10,000 nodes' worth
/// in one process; an `[UInt8]` costs a pointer plus a separate heap block (header, capacity and
/// allocator rounding: about 112 bytes for 64 bytes of signature) per record. Any other length
/// the wire allows (1 to 128 bytes, `FieldLimits.maxSignatureBytes`) is kept in an array, so every
/// byte string round-trips exactly: ``bytes`` returns what ``init(_:)`` was given, and equality
/// and hashing are those of the bytes.
public struct RecordSignature: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The length held inline.
    public static let inlineByteCount = 64

    /// Eight words holding 64 bytes in memory order (the host's byte order does not matter: bytes
    /// are copied in and out as raw memory).
    struct Words: Hashable, Sendable {
        var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0
        var w4: UInt64 = 0, w5: UInt64 = 0, w6: UInt64 = 0, w7: UInt64 = 0
    }

    enum Storage: Hashable, Sendable {
        case empty
        /// Exactly ``RecordSignature/inlineByteCount`` bytes.
        case inline(Words)
        /// Any other non-empty length.
        case other([UInt8])
    }

    let storage: Storage

    /// No signature.
    public static let none = RecordSignature()

    /// No signature.
    public init() { storage = .empty }

    /// Holds `bytes` (any length), inline when it is empty or 64 bytes long.
    ///
    /// Arrays and slices are copied through ``init(copying:)``; only a collection without
    /// contiguous storage is gathered into an array first.
    public init(_ bytes: some Collection<UInt8>) {
        if let signature = bytes.withContiguousStorageIfAvailable({ RecordSignature(copying: UnsafeRawBufferPointer($0)) }) {
            self = signature
        } else {
            self = Array(bytes).withUnsafeBytes { RecordSignature(copying: $0) }
        }
    }

    /// Holds a copy of `bytes` (any length), inline when it is empty or 64 bytes long.
    ///
    /// Not generic on purpose: the wire decoder (another module) calls this for every record it
    /// reads, and a generic initializer is not specialised across modules. Called from there, the
    /// generic form ran the standard library's unspecialised iterator for every byte, with a
    /// runtime metadata lookup each time (about 1,800 instructions and two transient heap
    /// allocations a byte, 117,000 instructions a record), which made DELTA decode seven times
    /// slower (BENCHMARKS.md, wire codec). This is one `memcpy`.
    public init(copying bytes: UnsafeRawBufferPointer) {
        if bytes.isEmpty {
            storage = .empty
        } else if bytes.count == RecordSignature.inlineByteCount {
            var words = Words()
            withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
            storage = .inline(words)
        } else {
            storage = .other(Array(bytes))
        }
    }

    /// The signature's bytes (a new array each time for the inline form).
    public var bytes: [UInt8] {
        switch storage {
        case .empty: []
        case .inline(let words): Swift.withUnsafeBytes(of: words) { Array($0) }
        case .other(let bytes): bytes
        }
    }

    /// The length in bytes.
    public var count: Int {
        switch storage {
        case .empty: 0
        case .inline: RecordSignature.inlineByteCount
        case .other(let bytes): bytes.count
        }
    }

    /// Whether there is no signature.
    public var isEmpty: Bool { count == 0 }

    /// Calls `body` with the bytes without copying them into an array.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .empty: try body(UnsafeRawBufferPointer(start: nil, count: 0))
        case .inline(let words): try Swift.withUnsafeBytes(of: words) { try body($0) }
        case .other(let bytes): try bytes.withUnsafeBytes { try body($0) }
        }
    }

    /// Encodes as the byte array, as the `[UInt8]` property it replaces did.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }

    /// Decodes the byte array form.
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([UInt8].self))
    }

    /// Hex, for logs.
    public var description: String { Hex.encode(bytes) }
}

/// Which gossip population a digest summarises. Raw values are the wire codes.
public enum GossipScope: UInt8, Sendable, Codable, CaseIterable {
    /// Full detail within one region (a regional node and its industry nodes).
    case region = 1
    /// Region summaries across the backbone of regional nodes.
    case backbone = 2
}

/// The newest version a node holds from one origin.
public struct DigestEntry: Hashable, Sendable, Codable {
    public var origin: NodeID
    public var epoch: UInt64
    public var sequence: UInt64

    public init(origin: NodeID, epoch: UInt64, sequence: UInt64) {
        self.origin = origin
        self.epoch = epoch
        self.sequence = sequence
    }
}

// MARK: - Region summaries

/// Capacity of one accelerator class across a region.
public struct AcceleratorSummary: Hashable, Sendable, Codable {
    public var kind: AcceleratorKind
    public var vendor: String
    public var model: String
    public var total: UInt64
    public var free: UInt64

    public init(kind: AcceleratorKind, vendor: String, model: String, total: UInt64, free: UInt64) throws(VocabularyError) {
        try IdentifierGrammar.validate(vendor, what: "accelerator vendor", maxBytes: AcceleratorGroup.maxNameBytes)
        try IdentifierGrammar.validate(model, what: "accelerator model", maxBytes: AcceleratorGroup.maxNameBytes)
        self.kind = kind
        self.vendor = vendor
        self.model = model
        self.total = total
        self.free = free
    }

    /// Wraps names the caller has already checked against the grammar.
    package init(kind: AcceleratorKind, validatedVendor vendor: String, model: String, total: UInt64, free: UInt64) {
        self.kind = kind
        self.vendor = vendor
        self.model = model
        self.total = total
        self.free = free
    }
}

/// What one region offers, in aggregate: what regional nodes exchange across the backbone so that
/// state stays O(region), not O(N).
public struct RegionSummary: Hashable, Sendable, Codable {
    /// The most accelerator classes in one summary.
    public static let maxAcceleratorClasses = 64
    /// The most certifications in one summary.
    public static let maxCertifications = 32

    public var region: Region
    /// The regional node that issued the summary.
    public var origin: NodeID
    public var version: UInt64
    public var issuedAt: MeshInstant
    public var validUntil: MeshInstant
    public var nodeCount: UInt32
    public var poolCount: UInt32
    public var totalComputeUnits: UInt64
    public var freeComputeUnits: UInt64
    public var accelerators: [AcceleratorSummary]
    /// The lowest current price per compute unit-hour in the region.
    public var minPricePerUnitHour: Price
    /// The union of the region's pools' certifications, sorted.
    public var certifications: [Certification]
    /// Capacity-weighted green-energy share, permille.
    public var greenEnergyPermille: UInt16
    public var signature: [UInt8]

    public init(
        region: Region, origin: NodeID, version: UInt64, issuedAt: MeshInstant, validUntil: MeshInstant, nodeCount: UInt32,
        poolCount: UInt32, totalComputeUnits: UInt64, freeComputeUnits: UInt64, accelerators: [AcceleratorSummary],
        minPricePerUnitHour: Price, certifications: [Certification], greenEnergyPermille: UInt16, signature: [UInt8] = []
    ) {
        self.region = region
        self.origin = origin
        self.version = version
        self.issuedAt = issuedAt
        self.validUntil = validUntil
        self.nodeCount = nodeCount
        self.poolCount = poolCount
        self.totalComputeUnits = totalComputeUnits
        self.freeComputeUnits = freeComputeUnits
        self.accelerators = accelerators
        self.minPricePerUnitHour = minPricePerUnitHour
        self.certifications = certifications
        self.greenEnergyPermille = greenEnergyPermille
        self.signature = signature
    }
}

// MARK: - Revocation

/// Why a certificate was revoked. Raw values are the wire codes.
public enum RevocationReason: UInt8, Sendable, Codable, CaseIterable {
    case unspecified = 0
    case keyCompromise = 1
    case operatorDeadmitted = 2
    case superseded = 3
    case ceasedOperation = 4
}

/// One revoked node certificate.
public struct Revocation: Hashable, Sendable, Codable {
    public var node: NodeID
    public var certificateSerial: UInt64
    public var revokedAt: MeshInstant
    public var reason: RevocationReason

    public init(node: NodeID, certificateSerial: UInt64, revokedAt: MeshInstant, reason: RevocationReason) {
        self.node = node
        self.certificateSerial = certificateSerial
        self.revokedAt = revokedAt
        self.reason = reason
    }
}
