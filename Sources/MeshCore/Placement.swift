// MARK: - Requests

/// Which accelerators a demand asks for; a nil vendor or model means any.
public struct AcceleratorClass: Hashable, Sendable, Codable, CustomStringConvertible {
    public var kind: AcceleratorKind
    public var vendor: String?
    public var model: String?

    public init(kind: AcceleratorKind, vendor: String? = nil, model: String? = nil) throws(VocabularyError) {
        if let vendor {
            try IdentifierGrammar.validate(vendor, what: "accelerator vendor", maxBytes: AcceleratorGroup.maxNameBytes)
        }
        if let model { try IdentifierGrammar.validate(model, what: "accelerator model", maxBytes: AcceleratorGroup.maxNameBytes) }
        self.kind = kind
        self.vendor = vendor
        self.model = model
    }

    /// Wraps names the caller has already checked against the grammar.
    package init(kind: AcceleratorKind, validatedVendor vendor: String?, model: String?) {
        self.kind = kind
        self.vendor = vendor
        self.model = model
    }

    /// Whether a pool's accelerator group is of this class.
    public func matches(_ group: AcceleratorGroup) -> Bool {
        group.kind == kind && (vendor == nil || vendor == group.vendor) && (model == nil || model == group.model)
    }

    public var description: String { "\(kind):\(vendor ?? "*")/\(model ?? "*")" }
}

/// How a demand may be split across pools. Raw values are the wire codes.
public enum PlacementMode: UInt8, Sendable, Codable, CaseIterable {
    /// All of it in one pool (a gang: e.g. 64 accelerators for one training job).
    case gang = 1
    /// Spread over up to `maxPools` pools.
    case spread = 2
}

/// What a request needs.
public struct Demand: Hashable, Sendable, Codable {
    public var accelerator: AcceleratorClass?
    public var acceleratorCount: UInt32
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var mode: PlacementMode
    /// For ``PlacementMode/spread``: the most pools to use (1 for gang).
    public var maxPools: UInt16

    public init(
        accelerator: AcceleratorClass? = nil, acceleratorCount: UInt32 = 0, computeUnits: UInt64, memoryMiB: UInt64 = 0,
        mode: PlacementMode = .gang, maxPools: UInt16 = 1
    ) {
        self.accelerator = accelerator
        self.acceleratorCount = acceleratorCount
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.mode = mode
        self.maxPools = maxPools
    }
}

/// Where and how a request may be served. Empty lists mean "no constraint".
public struct Constraints: Hashable, Sendable, Codable {
    /// The most residency regions one request may name.
    public static let maxResidencyRegions = 32
    /// The most architectures one request may name.
    public static let maxArchitectures = 16

    /// Data-residency regions the pool's zone must be one of.
    public var residency: [Region]
    /// Certifications the pool must all hold.
    public var certifications: [Certification]
    /// Architectures acceptable to the workload.
    public var architectures: [CPUArchitecture]
    public var maxPricePerUnitHour: Price?
    public var maxLatency: MeshDuration?

    public init(
        residency: [Region] = [], certifications: [Certification] = [], architectures: [CPUArchitecture] = [],
        maxPricePerUnitHour: Price? = nil, maxLatency: MeshDuration? = nil
    ) {
        self.residency = residency
        self.certifications = certifications
        self.architectures = architectures
        self.maxPricePerUnitHour = maxPricePerUnitHour
        self.maxLatency = maxLatency
    }
}

/// How much the requester cares about price, latency and green energy, in permille each.
public struct Weights: Hashable, Sendable, Codable {
    public var price: UInt16
    public var latency: UInt16
    public var green: UInt16

    public init(price: UInt16 = 500, latency: UInt16 = 300, green: UInt16 = 200) {
        self.price = price
        self.latency = latency
        self.green = green
    }
}

/// A tenant's request for compute, as it enters the mesh at an industry node (PLACE) and as it
/// travels upward and between regions (inside FORWARD).
public struct PlacementRequest: Hashable, Sendable, Codable {
    /// The longest idempotency key, in bytes.
    public static let maxIdempotencyKeyBytes = 128

    public var requestID: RequestID
    public var tenant: TenantID
    public var sector: Sector
    /// The same key within its window returns the original outcome; retries never double-book.
    public var idempotencyKey: String
    public var demand: Demand
    public var constraints: Constraints
    public var weights: Weights
    public var leaseDuration: MeshDuration
    /// After this instant the request MUST NOT be acted on.
    public var deadline: MeshInstant
    /// The node where the request entered the mesh.
    public var origin: NodeID

    public init(
        requestID: RequestID, tenant: TenantID, sector: Sector, idempotencyKey: String, demand: Demand,
        constraints: Constraints = Constraints(), weights: Weights = Weights(), leaseDuration: MeshDuration,
        deadline: MeshInstant, origin: NodeID
    ) {
        self.requestID = requestID
        self.tenant = tenant
        self.sector = sector
        self.idempotencyKey = idempotencyKey
        self.demand = demand
        self.constraints = constraints
        self.weights = weights
        self.leaseDuration = leaseDuration
        self.deadline = deadline
        self.origin = origin
    }

    /// Checks the rules a request must meet to be sent at all (the wire's limits); placement
    /// policy (known sectors, feasible demands) is checked by the placement core. Call it where a
    /// request enters from a user or a file.
    public func validate() throws(VocabularyError) {
        let key = idempotencyKey.utf8.count
        if key == 0 || key > PlacementRequest.maxIdempotencyKeyBytes {
            throw VocabularyError(
                what: "idempotency key", input: idempotencyKey,
                reason: "must be 1 to \(PlacementRequest.maxIdempotencyKeyBytes) bytes")
        }
        for (name, weight) in [("price", weights.price), ("latency", weights.latency), ("green", weights.green)]
        where weight > 1000 {
            throw VocabularyError(what: "\(name) weight", input: String(weight), reason: "weights are permille: 0 to 1000")
        }
        if constraints.residency.count > Constraints.maxResidencyRegions {
            throw VocabularyError(
                what: "residency list", input: String(constraints.residency.count),
                reason: "at most \(Constraints.maxResidencyRegions) regions")
        }
        if constraints.certifications.count > PoolDescriptor.maxCertifications {
            throw VocabularyError(
                what: "certification list", input: String(constraints.certifications.count),
                reason: "at most \(PoolDescriptor.maxCertifications) certifications")
        }
        if constraints.architectures.count > Constraints.maxArchitectures {
            throw VocabularyError(
                what: "architecture list", input: String(constraints.architectures.count),
                reason: "at most \(Constraints.maxArchitectures) architectures")
        }
    }
}

// MARK: - Reservations

/// A hold or a lease, as named by RELEASE and LEASE_STATE.
public enum ReservationRef: Hashable, Sendable, Codable, CustomStringConvertible {
    case hold(HoldID)
    case lease(LeaseID)

    public var description: String {
        switch self {
        case .hold(let id): "hold \(id)"
        case .lease(let id): "lease \(id)"
        }
    }
}

/// The state of a reservation at its owner. Raw values are the wire codes.
public enum ReservationState: UInt8, Sendable, Codable, CaseIterable {
    case held = 1
    case leased = 2
    case released = 3
    case expired = 4
    /// The owner has no such reservation.
    case unknown = 5
}

/// Capacity committed to a tenant on one pool until `expiresAt`.
public struct Lease: Hashable, Sendable, Codable {
    public var leaseID: LeaseID
    /// The hold this lease was confirmed from.
    public var holdID: HoldID
    public var pool: ComputeID
    public var tenant: TenantID
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var acceleratorCount: UInt32
    public var pricePerUnitHour: Price
    public var startsAt: MeshInstant
    public var expiresAt: MeshInstant

    public init(
        leaseID: LeaseID, holdID: HoldID, pool: ComputeID, tenant: TenantID, computeUnits: UInt64, memoryMiB: UInt64,
        acceleratorCount: UInt32, pricePerUnitHour: Price, startsAt: MeshInstant, expiresAt: MeshInstant
    ) {
        self.leaseID = leaseID
        self.holdID = holdID
        self.pool = pool
        self.tenant = tenant
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.acceleratorCount = acceleratorCount
        self.pricePerUnitHour = pricePerUnitHour
        self.startsAt = startsAt
        self.expiresAt = expiresAt
    }
}

// MARK: - Refusals and explanations

/// Why a request, quote or confirmation was refused. Raw values are the wire codes.
public enum RefuseReason: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case insufficientCapacity = 1
    /// The pool's policy does not accept this sector, tenant or region.
    case policyRefused = 2
    case unknownSector = 3
    /// A demand that is empty, negative, absurd or contradictory.
    case invalidDemand = 4
    case deadlineExpired = 5
    /// The idempotency key was used before with different content.
    case idempotencyConflict = 6
    /// The hold being confirmed lapsed or was released.
    case holdLapsed = 7
    /// The receiver does not own the pool named.
    case notOwner = 8
    /// The sender's role may not ask this.
    case unauthorized = 9
    /// No pool in view passed the filters.
    case noCandidates = 10
    /// Forwarding stopped at the hop limit.
    case hopLimitReached = 11
    /// The request came back to a node on its own path.
    case loopDetected = 12
    case overloaded = 13
    /// No such hold or lease.
    case unknownReservation = 14
    /// The owner (or the peer a request was forwarded to) could not be reached, or did not answer
    /// in time: the request may succeed when retried with the same idempotency key.
    case ownerUnreachable = 15

    public var description: String {
        switch self {
        case .insufficientCapacity: "insufficient-capacity"
        case .policyRefused: "policy-refused"
        case .unknownSector: "unknown-sector"
        case .invalidDemand: "invalid-demand"
        case .deadlineExpired: "deadline-expired"
        case .idempotencyConflict: "idempotency-conflict"
        case .holdLapsed: "hold-lapsed"
        case .notOwner: "not-owner"
        case .unauthorized: "unauthorized"
        case .noCandidates: "no-candidates"
        case .hopLimitReached: "hop-limit-reached"
        case .loopDetected: "loop-detected"
        case .overloaded: "overloaded"
        case .unknownReservation: "unknown-reservation"
        case .ownerUnreachable: "owner-unreachable"
        }
    }

    /// Whether a request refused for this reason may succeed when retried unchanged: the refusal
    /// says what happened to this attempt, not what the request is worth. A requester does not
    /// replay transient refusals from its idempotency window (SPEC §6.6.12).
    public var isTransient: Bool {
        switch self {
        case .ownerUnreachable, .overloaded, .deadlineExpired, .holdLapsed: true
        case .insufficientCapacity, .policyRefused, .unknownSector, .invalidDemand, .idempotencyConflict, .notOwner,
            .unauthorized, .noCandidates, .hopLimitReached, .loopDetected, .unknownReservation:
            false
        }
    }
}

/// Which filter rejected a candidate pool. Raw values are the wire codes.
public enum FilterReason: UInt8, Sendable, Codable, CaseIterable {
    /// The pool's inventory is past its valid-until.
    case stale = 1
    case residency = 2
    case certification = 3
    case architecture = 4
    case price = 5
    case latency = 6
    case capacity = 7
    case policy = 8
    case acceleratorClass = 9
    /// The owner refused the quote.
    case ownerRefused = 10
    /// The owner could not be reached (a failed dial, a closed link, or no answer in time).
    case unreachable = 11
}

/// A candidate's scores, in parts per million (higher is better); `total` is the weighted sum.
public struct ScoreVector: Hashable, Sendable, Codable {
    public var price: UInt32
    public var latency: UInt32
    public var green: UInt32
    public var total: UInt32

    public init(price: UInt32, latency: UInt32, green: UInt32, total: UInt32) {
        self.price = price
        self.latency = latency
        self.green = green
        self.total = total
    }
}

/// What became of one candidate.
public enum CandidateOutcome: Hashable, Sendable, Codable {
    case filtered(FilterReason, detail: String)
    case scored(ScoreVector)
}

/// One candidate pool's verdict, with the inventory version and age it was judged on.
public struct CandidateVerdict: Hashable, Sendable, Codable {
    /// The longest detail text, in bytes.
    public static let maxDetailBytes = 256

    public var pool: ComputeID
    public var inventoryEpoch: UInt64
    public var inventorySequence: UInt64
    public var inventoryAge: MeshDuration
    public var outcome: CandidateOutcome

    public init(
        pool: ComputeID, inventoryEpoch: UInt64, inventorySequence: UInt64, inventoryAge: MeshDuration, outcome: CandidateOutcome
    ) {
        self.pool = pool
        self.inventoryEpoch = inventoryEpoch
        self.inventorySequence = inventorySequence
        self.inventoryAge = inventoryAge
        self.outcome = outcome
    }
}

/// Why a decision came out as it did: every candidate's verdict, the versions used, the path.
///
/// Sum rule: `filteredCount + scoredCount == consideredCount`. `verdicts` may be cut to a limit,
/// so it may hold fewer entries than were considered, never more.
public struct Explanation: Hashable, Sendable, Codable {
    public var requestID: RequestID
    public var decidedBy: NodeID
    public var decidedAt: MeshInstant
    /// The nodes the request passed through, origin first.
    public var path: [NodeID]
    public var consideredCount: UInt32
    public var filteredCount: UInt32
    public var scoredCount: UInt32
    public var verdicts: [CandidateVerdict]
    /// The pool finally chosen, if any.
    public var chosen: ComputeID?

    public init(
        requestID: RequestID, decidedBy: NodeID, decidedAt: MeshInstant, path: [NodeID], consideredCount: UInt32,
        filteredCount: UInt32, scoredCount: UInt32, verdicts: [CandidateVerdict], chosen: ComputeID?
    ) {
        self.requestID = requestID
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.path = path
        self.consideredCount = consideredCount
        self.filteredCount = filteredCount
        self.scoredCount = scoredCount
        self.verdicts = verdicts
        self.chosen = chosen
    }

    /// Whether the counts obey the sum rule and the verdicts fit within them.
    public var obeysSumRule: Bool {
        UInt64(filteredCount) + UInt64(scoredCount) == UInt64(consideredCount) && verdicts.count <= Int(consideredCount)
    }
}

/// How a placement ended.
public enum PlacementResult: Hashable, Sendable, Codable {
    case placed([Lease])
    case refused(RefuseReason, message: String)
}

/// The content of a request that an idempotency key binds: the same key with different content
/// is an idempotency conflict. The request ID and deadline are not content (a retry carries new
/// ones).
public struct RequestContent: Hashable, Sendable, Codable {
    public var tenant: TenantID
    public var sector: Sector
    public var demand: Demand
    public var constraints: Constraints
    public var weights: Weights
    public var leaseDuration: MeshDuration

    public init(_ request: PlacementRequest) {
        tenant = request.tenant
        sector = request.sector
        demand = request.demand
        constraints = request.constraints
        weights = request.weights
        leaseDuration = request.leaseDuration
    }
}
