// MARK: - Records

/// What an inventory record says about one pool. Splitting the slow-changing descriptor from the
/// fast-changing availability is what makes gossip deltas field-level: a change of free capacity
/// travels without the pool's description.
public enum RecordBody: Hashable, Sendable, Codable {
    /// The pool's description (wire kind 1).
    case descriptor(PoolDescriptor)
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
public struct InventoryRecord: Hashable, Sendable, Codable {
    public var origin: NodeID
    public var epoch: UInt64
    public var sequence: UInt64
    public var issuedAt: MeshInstant
    /// After this instant the record MUST NOT be used for decisions.
    public var validUntil: MeshInstant
    public var body: RecordBody
    /// The origin's signature over the record (empty until signing is configured).
    public var signature: [UInt8]

    public init(
        origin: NodeID, epoch: UInt64, sequence: UInt64, issuedAt: MeshInstant, validUntil: MeshInstant, body: RecordBody,
        signature: [UInt8] = []
    ) {
        self.origin = origin
        self.epoch = epoch
        self.sequence = sequence
        self.issuedAt = issuedAt
        self.validUntil = validUntil
        self.body = body
        self.signature = signature
    }
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
