// The owner's ledger entries: what a pool's owner has set aside (holds) and committed (leases).
// They live in MeshCore because the placement core decides them and the store persists them, and
// neither may depend on the other.

/// Capacity an owner set aside for a quote until `expiresAt`, when it lapses unless confirmed.
public struct Hold: Hashable, Sendable {
    public var holdID: HoldID
    public var requestID: RequestID
    /// The node that asked for the quote: the only one that may confirm or release the hold.
    public var requester: NodeID
    public var pool: ComputeID
    public var tenant: TenantID
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var acceleratorCount: UInt32
    /// The index of the accelerator group the hold draws on, if it holds accelerators.
    public var acceleratorGroup: Int?
    public var pricePerUnitHour: Price
    public var createdAt: MeshInstant
    public var expiresAt: MeshInstant

    public init(
        holdID: HoldID, requestID: RequestID, requester: NodeID, pool: ComputeID, tenant: TenantID, computeUnits: UInt64,
        memoryMiB: UInt64, acceleratorCount: UInt32, acceleratorGroup: Int?, pricePerUnitHour: Price, createdAt: MeshInstant,
        expiresAt: MeshInstant
    ) {
        self.holdID = holdID
        self.requestID = requestID
        self.requester = requester
        self.pool = pool
        self.tenant = tenant
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.acceleratorCount = acceleratorCount
        self.acceleratorGroup = acceleratorGroup
        self.pricePerUnitHour = pricePerUnitHour
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A lease as its owner keeps it: the lease, the accelerator group it draws on, who holds it, the
/// idempotency key it was confirmed under, and whether its holder has acknowledged it.
public struct ActiveLease: Hashable, Sendable {
    public var lease: Lease
    public var acceleratorGroup: Int?
    public var requester: NodeID
    public var requestID: RequestID
    public var idempotencyKey: String
    /// Until when the owner waits for the holder to acknowledge the lease (SPEC §6.6.12); nil once
    /// acknowledged. A lease still unacknowledged then is abandoned: nobody reported it to a tenant.
    public var acknowledgeBy: MeshInstant?

    public init(
        lease: Lease, acceleratorGroup: Int?, requester: NodeID, requestID: RequestID, idempotencyKey: String,
        acknowledgeBy: MeshInstant? = nil
    ) {
        self.lease = lease
        self.acceleratorGroup = acceleratorGroup
        self.requester = requester
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        self.acknowledgeBy = acknowledgeBy
    }

    /// Whether the holder has acknowledged the lease.
    public var isAcknowledged: Bool { acknowledgeBy == nil }
}

/// A pool as registered: its descriptor and the inventory record version it was published at.
public struct RegisteredPool: Hashable, Sendable {
    public var descriptor: PoolDescriptor
    public var epoch: UInt64
    public var sequence: UInt64

    public init(descriptor: PoolDescriptor, epoch: UInt64, sequence: UInt64) {
        self.descriptor = descriptor
        self.epoch = epoch
        self.sequence = sequence
    }
}

/// One change to an owner's ledger: what the owner decides, what the store persists (each batch in
/// one transaction) and what an oracle replays. Defined once, here, because the placement core
/// decides these changes and the store persists them, and neither may depend on the other.
public enum LedgerChange: Hashable, Sendable {
    case poolRegistered(RegisteredPool)
    case holdPlaced(Hold)
    case holdReleased(HoldID)
    case holdExpired(HoldID)
    /// The hold named by `lease.holdID` became this lease (unacknowledged until `acknowledgeBy`).
    case leaseStarted(ActiveLease)
    /// The holder acknowledged the lease: it reported it to its tenant.
    case leaseAcknowledged(LeaseID)
    /// A CONFIRM for an unacknowledged lease was answered again: the holder has until
    /// `acknowledgeBy` to acknowledge it.
    case leaseReconfirmed(LeaseID, acknowledgeBy: MeshInstant)
    case leaseRenewed(LeaseID, expiresAt: MeshInstant)
    case leaseReleased(LeaseID)
    case leaseExpired(LeaseID)
    /// Released because its holder never acknowledged it in time (SPEC §6.6.12).
    case leaseAbandoned(LeaseID)

    /// A short name for the audit trail.
    public var kind: String {
        switch self {
        case .poolRegistered: "pool-registered"
        case .holdPlaced: "hold-placed"
        case .holdReleased: "hold-released"
        case .holdExpired: "hold-expired"
        case .leaseStarted: "lease-started"
        case .leaseAcknowledged: "lease-acknowledged"
        case .leaseReconfirmed: "lease-reconfirmed"
        case .leaseRenewed: "lease-renewed"
        case .leaseReleased: "lease-released"
        case .leaseExpired: "lease-expired"
        case .leaseAbandoned: "lease-abandoned"
        }
    }

    /// The ID the change is about, for the audit trail.
    public var subject: String {
        switch self {
        case .poolRegistered(let p): p.descriptor.id.description
        case .holdPlaced(let h): h.holdID.description
        case .holdReleased(let id), .holdExpired(let id): id.description
        case .leaseStarted(let l): l.lease.leaseID.description
        case .leaseAcknowledged(let id), .leaseReconfirmed(let id, _), .leaseRenewed(let id, _), .leaseReleased(let id),
            .leaseExpired(let id), .leaseAbandoned(let id):
            id.description
        }
    }
}

/// An owner's ledger as persisted: registered pools, active holds and active leases in ID order,
/// and the version of the last committed batch. Enough to rebuild the owner's state exactly.
public struct LedgerSnapshot: Hashable, Sendable {
    public var pools: [RegisteredPool]
    public var holds: [Hold]
    public var leases: [ActiveLease]
    public var ledgerVersion: UInt64

    public init(pools: [RegisteredPool] = [], holds: [Hold] = [], leases: [ActiveLease] = [], ledgerVersion: UInt64 = 0) {
        self.pools = pools
        self.holds = holds
        self.leases = leases
        self.ledgerVersion = ledgerVersion
    }
}

/// What a node decided for an idempotency key, kept durably so that a retry gets the same answer
/// after the node restarts (the key's home must not forget it; SPEC §6.6.12).
public struct KeyDecision: Hashable, Sendable, Codable {
    /// The request's content, which the key binds.
    public var content: RequestContent
    /// The final outcome (the leases, or a final refusal).
    public var outcome: Outcome
    /// The nodes between the deciding node and the leases' owners (empty: confirmed there).
    public var path: [NodeID]
    /// Whether an entry node acknowledged the leases to their owners (a tenant was told).
    public var acknowledged: Bool
    /// When the decision is forgotten (the idempotency window, or sooner while unacknowledged).
    public var expiresAt: MeshInstant

    public init(content: RequestContent, outcome: Outcome, path: [NodeID], acknowledged: Bool, expiresAt: MeshInstant) {
        self.content = content
        self.outcome = outcome
        self.path = path
        self.acknowledged = acknowledged
        self.expiresAt = expiresAt
    }

    public var tenant: TenantID { content.tenant }
    public var key: String { outcome.idempotencyKey }
}

/// What a node asks its store to make durable in one step: ledger changes stamped with the ledger
/// version they lead to, and the node's incarnation. A store commits one or more batches in one
/// transaction (group commit) and reports them durable together.
public struct PersistBatch: Hashable, Sendable {
    public var changes: [LedgerChange]
    /// The ledger version after `changes` (nil when the batch carries no ledger changes).
    public var ledgerVersion: UInt64?
    /// The node's incarnation, which MUST be durable before any frame carries it.
    public var incarnation: UInt64?
    /// Decisions for idempotency keys (each replaces the stored one of its tenant and key).
    public var decisions: [KeyDecision]
    /// Explanations of decisions, for the console's WHY after a restart, in the order they were
    /// made. Each replaces the stored explanation of its request and keeps that one's place; the
    /// store keeps only the most recent ones (its explanation limit) and forgets the oldest first.
    /// No answer waits for them.
    public var explanations: [Explanation]

    public init(
        changes: [LedgerChange] = [], ledgerVersion: UInt64? = nil, incarnation: UInt64? = nil, decisions: [KeyDecision] = [],
        explanations: [Explanation] = []
    ) {
        self.changes = changes
        self.ledgerVersion = ledgerVersion
        self.incarnation = incarnation
        self.decisions = decisions
        self.explanations = explanations
    }

    public var isEmpty: Bool {
        changes.isEmpty && ledgerVersion == nil && incarnation == nil && decisions.isEmpty && explanations.isEmpty
    }
}
