// The placement messages of wire protocol v1 (Protocols/SPEC.md §6.6), defined once: the placement
// cores decide with these values and `MeshWire` gives them their encodings (`WireMessageBody`
// conformances), so no layer keeps a copy of another's fields.

/// QUOTE_REQUEST: asks a pool's owner to re-check its ledger, hold capacity for `holdFor`, and
/// answer with a firm QUOTE or a REFUSE.
public struct QuoteRequest: Hashable, Sendable, Codable {
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
public struct Quote: Hashable, Sendable, Codable {
    public var requestID: RequestID
    public var holdID: HoldID
    public var pool: ComputeID
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var acceleratorCount: UInt32
    public var pricePerUnitHour: Price
    public var holdExpiresAt: MeshInstant
    /// The owner's ledger version after placing the hold (for explanations and audits).
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

/// REFUSE: a refusal of a PLACE, QUOTE_REQUEST, CONFIRM or FORWARD, with the reason, a message for
/// people and (from an owner) its fresh availability, so that the requester's view heals at once.
public struct Refuse: Hashable, Sendable, Codable {
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

/// CONFIRM: turns a hold into a lease. The owner answers only after the lease is durable; a
/// repeated CONFIRM of the same hold returns the same lease (the in-doubt rule of SPEC §6.6.12).
public struct Confirm: Hashable, Sendable, Codable {
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

/// CONFIRMED: the owner's answer to CONFIRM: the lease, durably recorded.
public struct Confirmed: Hashable, Sendable, Codable {
    public var requestID: RequestID
    public var lease: Lease

    public init(requestID: RequestID, lease: Lease) {
        self.requestID = requestID
        self.lease = lease
    }
}

/// The route of a RENEW, RELEASE or LEASE_STATE about a lease reached through other nodes: the
/// nodes from the one that asked to the lease's owner, in order (SPEC §6.6.13). A node on the
/// route passes a request to the next node and an answer to the previous one; empty means the
/// receiver is the owner, or the one who asked.
public typealias LeaseRoute = [NodeID]

/// How lease routes are made.
public enum LeaseRouting {
    /// The route from `node` through `path` to `owner`: no node twice (a route ends at the owner's
    /// first appearance), since a node finds its place on a route by its first appearance.
    public static func route(from node: NodeID, through path: [NodeID], to owner: NodeID) -> LeaseRoute {
        var route: LeaseRoute = [node]
        for hop in path where !route.contains(hop) {
            route.append(hop)
            if hop == owner { return route }
        }
        if node == owner { return [node] }
        route.append(owner)
        return route
    }
}

/// RELEASE: gives back a hold or a lease. Answered by LEASE_STATE.
public struct Release: Hashable, Sendable, Codable {
    public var reservation: ReservationRef
    public var route: LeaseRoute

    public init(reservation: ReservationRef, route: LeaseRoute = []) {
        self.reservation = reservation
        self.route = route
    }
}

/// RENEW: extends a lease by `extendBy` from its current expiry; `extendBy` zero acknowledges the
/// lease without extending it (SPEC §6.6.8). Always answered by LEASE_STATE.
public struct Renew: Hashable, Sendable, Codable {
    public var leaseID: LeaseID
    public var extendBy: MeshDuration
    public var route: LeaseRoute

    public init(leaseID: LeaseID, extendBy: MeshDuration, route: LeaseRoute = []) {
        self.leaseID = leaseID
        self.extendBy = extendBy
        self.route = route
    }
}

/// LEASE_STATE: a reservation's state at its owner, after RELEASE or RENEW.
public struct LeaseStatus: Hashable, Sendable, Codable {
    public var reservation: ReservationRef
    public var state: ReservationState
    /// When it expires (or expired); zero for `unknown`.
    public var expiresAt: MeshInstant
    /// The route of the request it answers, which it travels back.
    public var route: LeaseRoute

    public init(reservation: ReservationRef, state: ReservationState, expiresAt: MeshInstant, route: LeaseRoute = []) {
        self.reservation = reservation
        self.state = state
        self.expiresAt = expiresAt
        self.route = route
    }
}

/// FORWARD: a placement request passed upward (industry → regional) or sideways (regional →
/// regional, spillover). `path` lists the nodes it has passed, origin first; a node that finds
/// itself on the path refuses with `loopDetected`, and `hopLimit` counts down to zero.
public struct Forward: Hashable, Sendable, Codable {
    public var request: PlacementRequest
    public var hopLimit: UInt8
    public var path: [NodeID]

    public init(request: PlacementRequest, hopLimit: UInt8, path: [NodeID]) {
        self.request = request
        self.hopLimit = hopLimit
        self.path = path
    }
}

/// OUTCOME: the final answer to a PLACE or FORWARD: the leases made, or the refusal, with the
/// explanation of the decision.
public struct Outcome: Hashable, Sendable, Codable {
    public var requestID: RequestID
    public var idempotencyKey: String
    public var result: PlacementResult
    public var explanation: Explanation
    /// The leases were already acknowledged to their owners (SPEC §6.6.12): a replay of a decision
    /// a tenant was told, reported without acknowledging again. Tagged field 0 on the wire.
    public var acknowledged: Bool

    public init(
        requestID: RequestID, idempotencyKey: String, result: PlacementResult, explanation: Explanation,
        acknowledged: Bool = false
    ) {
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        self.result = result
        self.explanation = explanation
        self.acknowledged = acknowledged
    }

    /// Whether the placement made leases.
    public var isPlaced: Bool {
        if case .placed = result { return true }
        return false
    }
}
