public import MeshCore

// The placement cores speak these values. They mirror the placement messages of wire protocol v1
// (QUOTE_REQUEST, QUOTE, REFUSE, CONFIRM, CONFIRMED, RELEASE, RENEW, LEASE_STATE, FORWARD,
// OUTCOME) field for field, so that a shell maps them to and from `MeshWire` one to one; the cores
// themselves import only MeshCore (DESIGN.md §2).

/// QUOTE_REQUEST: asks a pool's owner to re-check its ledger, hold capacity for `holdFor`, and
/// answer with a firm quote or a refusal.
public struct QuoteAsk: Hashable, Sendable {
    public var requestID: RequestID
    public var requester: NodeID
    public var pool: ComputeID
    public var tenant: TenantID
    public var sector: Sector
    public var demand: Demand
    public var holdFor: MeshDuration
    public var deadline: MeshInstant

    public init(
        requestID: RequestID, requester: NodeID, pool: ComputeID, tenant: TenantID, sector: Sector, demand: Demand,
        holdFor: MeshDuration, deadline: MeshInstant
    ) {
        self.requestID = requestID
        self.requester = requester
        self.pool = pool
        self.tenant = tenant
        self.sector = sector
        self.demand = demand
        self.holdFor = holdFor
        self.deadline = deadline
    }
}

/// QUOTE: a firm price; the owner holds the capacity under `holdID` until `holdExpiresAt`.
public struct QuoteOffer: Hashable, Sendable {
    public var requestID: RequestID
    public var holdID: HoldID
    public var pool: ComputeID
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var acceleratorCount: UInt32
    public var pricePerUnitHour: Price
    public var holdExpiresAt: MeshInstant
    /// The owner's ledger version after placing the hold.
    public var ledgerVersion: UInt64

    public init(
        requestID: RequestID, holdID: HoldID, pool: ComputeID, computeUnits: UInt64, memoryMiB: UInt64,
        acceleratorCount: UInt32, pricePerUnitHour: Price, holdExpiresAt: MeshInstant, ledgerVersion: UInt64
    ) {
        self.requestID = requestID
        self.holdID = holdID
        self.pool = pool
        self.computeUnits = computeUnits
        self.memoryMiB = memoryMiB
        self.acceleratorCount = acceleratorCount
        self.pricePerUnitHour = pricePerUnitHour
        self.holdExpiresAt = holdExpiresAt
        self.ledgerVersion = ledgerVersion
    }
}

/// REFUSE: the reason, a message for people, and (from an owner) its fresh availability so the
/// requester's view heals at once.
public struct Refusal: Hashable, Sendable {
    public var requestID: RequestID
    public var reason: RefuseReason
    public var message: String
    public var pool: ComputeID?
    public var freshAvailability: PoolAvailability?

    public init(
        requestID: RequestID, reason: RefuseReason, message: String, pool: ComputeID? = nil,
        freshAvailability: PoolAvailability? = nil
    ) {
        self.requestID = requestID
        self.reason = reason
        self.message = message
        self.pool = pool
        self.freshAvailability = freshAvailability
    }
}

/// CONFIRM: turns a hold into a lease; the owner answers only after the lease is durable.
public struct ConfirmAsk: Hashable, Sendable {
    public var requestID: RequestID
    public var holdID: HoldID
    public var idempotencyKey: String
    public var leaseDuration: MeshDuration

    public init(requestID: RequestID, holdID: HoldID, idempotencyKey: String, leaseDuration: MeshDuration) {
        self.requestID = requestID
        self.holdID = holdID
        self.idempotencyKey = idempotencyKey
        self.leaseDuration = leaseDuration
    }
}

/// CONFIRMED: the lease, durably recorded.
public struct LeaseConfirmed: Hashable, Sendable {
    public var requestID: RequestID
    public var lease: Lease

    public init(requestID: RequestID, lease: Lease) {
        self.requestID = requestID
        self.lease = lease
    }
}

/// LEASE_STATE: a reservation's state at its owner, after RELEASE or RENEW.
public struct ReservationStatus: Hashable, Sendable {
    public var reservation: ReservationRef
    public var state: ReservationState
    public var expiresAt: MeshInstant

    public init(reservation: ReservationRef, state: ReservationState, expiresAt: MeshInstant) {
        self.reservation = reservation
        self.state = state
        self.expiresAt = expiresAt
    }
}

/// FORWARD: a request passed to another node, with the hops left and the path so far.
public struct ForwardAsk: Hashable, Sendable {
    public var request: PlacementRequest
    public var hopLimit: UInt8
    /// The nodes the request has passed, origin first.
    public var path: [NodeID]

    public init(request: PlacementRequest, hopLimit: UInt8, path: [NodeID]) {
        self.request = request
        self.hopLimit = hopLimit
        self.path = path
    }
}

/// OUTCOME: how a placement ended, with the explanation of the decision.
public struct PlacementOutcome: Hashable, Sendable {
    public var requestID: RequestID
    public var idempotencyKey: String
    public var result: PlacementResult
    public var explanation: Explanation

    public init(requestID: RequestID, idempotencyKey: String, result: PlacementResult, explanation: Explanation) {
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        self.result = result
        self.explanation = explanation
    }

    /// Whether the placement made leases.
    public var isPlaced: Bool {
        if case .placed = result { return true }
        return false
    }
}

/// Every placement message a node's placement cores send or receive, addressed by node.
public enum PlacementMessage: Hashable, Sendable {
    case quoteRequest(QuoteAsk)
    case quote(QuoteOffer)
    case refuse(Refusal)
    case confirm(ConfirmAsk)
    case confirmed(LeaseConfirmed)
    case release(ReservationRef)
    case renew(leaseID: LeaseID, extendBy: MeshDuration)
    case leaseState(ReservationStatus)
    case forward(ForwardAsk)
    case outcome(PlacementOutcome)
}
