public import MeshCore
public import MeshPlacement
public import MeshWire

/// Maps the placement cores' messages to wire protocol v1 messages and back, one to one. The
/// node process and the simulator send every placement message through the real codec with it.
public enum PlacementWire {
    /// The wire message of a placement message.
    public static func wire(_ message: PlacementMessage) -> WireMessage {
        switch message {
        case .quoteRequest(let a):
            .quoteRequest(
                QuoteRequest(
                    requestID: a.requestID, requester: a.requester, pool: a.pool, tenant: a.tenant, sector: a.sector,
                    demand: a.demand,
                    holdFor: a.holdFor, deadline: a.deadline))
        case .quote(let q):
            .quote(
                Quote(
                    requestID: q.requestID, holdID: q.holdID, pool: q.pool, computeUnits: q.computeUnits, memoryMiB: q.memoryMiB,
                    acceleratorCount: q.acceleratorCount, pricePerUnitHour: q.pricePerUnitHour, holdExpiresAt: q.holdExpiresAt,
                    ledgerVersion: q.ledgerVersion))
        case .refuse(let r):
            .refuse(
                Refuse(
                    requestID: r.requestID, reason: r.reason, message: r.message, pool: r.pool,
                    freshAvailability: r.freshAvailability))
        case .confirm(let c):
            .confirm(
                Confirm(
                    requestID: c.requestID, holdID: c.holdID, idempotencyKey: c.idempotencyKey, leaseDuration: c.leaseDuration))
        case .confirmed(let c): .confirmed(Confirmed(requestID: c.requestID, lease: c.lease))
        case .release(let ref): .release(Release(reservation: ref))
        case .renew(let id, let by): .renew(Renew(leaseID: id, extendBy: by))
        case .leaseState(let s): .leaseStatus(LeaseStatus(reservation: s.reservation, state: s.state, expiresAt: s.expiresAt))
        case .forward(let f): .forward(Forward(request: f.request, hopLimit: f.hopLimit, path: f.path))
        case .outcome(let o):
            .outcome(
                Outcome(requestID: o.requestID, idempotencyKey: o.idempotencyKey, result: o.result, explanation: o.explanation))
        }
    }

    /// The placement message of a wire message, or nil for a message outside placement.
    public static func placement(_ message: WireMessage) -> PlacementMessage? {
        switch message {
        case .quoteRequest(let a):
            .quoteRequest(
                QuoteAsk(
                    requestID: a.requestID, requester: a.requester, pool: a.pool, tenant: a.tenant, sector: a.sector,
                    demand: a.demand,
                    holdFor: a.holdFor, deadline: a.deadline))
        case .quote(let q):
            .quote(
                QuoteOffer(
                    requestID: q.requestID, holdID: q.holdID, pool: q.pool, computeUnits: q.computeUnits, memoryMiB: q.memoryMiB,
                    acceleratorCount: q.acceleratorCount, pricePerUnitHour: q.pricePerUnitHour, holdExpiresAt: q.holdExpiresAt,
                    ledgerVersion: q.ledgerVersion))
        case .refuse(let r):
            .refuse(
                Refusal(
                    requestID: r.requestID, reason: r.reason, message: r.message, pool: r.pool,
                    freshAvailability: r.freshAvailability))
        case .confirm(let c):
            .confirm(
                ConfirmAsk(
                    requestID: c.requestID, holdID: c.holdID, idempotencyKey: c.idempotencyKey, leaseDuration: c.leaseDuration))
        case .confirmed(let c): .confirmed(LeaseConfirmed(requestID: c.requestID, lease: c.lease))
        case .release(let r): .release(r.reservation)
        case .renew(let r): .renew(leaseID: r.leaseID, extendBy: r.extendBy)
        case .leaseStatus(let s):
            .leaseState(ReservationStatus(reservation: s.reservation, state: s.state, expiresAt: s.expiresAt))
        case .forward(let f): .forward(ForwardAsk(request: f.request, hopLimit: f.hopLimit, path: f.path))
        case .outcome(let o):
            .outcome(
                PlacementOutcome(
                    requestID: o.requestID, idempotencyKey: o.idempotencyKey, result: o.result, explanation: o.explanation))
        default: nil
        }
    }
}
