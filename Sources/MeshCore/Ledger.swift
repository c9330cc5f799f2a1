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

/// A lease as its owner keeps it: the lease, the accelerator group it draws on, who holds it and
/// the idempotency key it was confirmed under.
public struct ActiveLease: Hashable, Sendable {
    public var lease: Lease
    public var acceleratorGroup: Int?
    public var requester: NodeID
    public var requestID: RequestID
    public var idempotencyKey: String

    public init(lease: Lease, acceleratorGroup: Int?, requester: NodeID, requestID: RequestID, idempotencyKey: String) {
        self.lease = lease
        self.acceleratorGroup = acceleratorGroup
        self.requester = requester
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
    }
}
