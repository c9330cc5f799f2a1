public import MeshCore

// MARK: - Request structures

extension AcceleratorClass: WireCodable {
    /// Kind byte, then optional vendor and optional model (presence byte each).
    public func encode(to writer: inout WireWriter) {
        kind.encode(to: &writer)
        writer.writeOptional(vendor) { w, v in w.writeString(v, maxBytes: AcceleratorGroup.maxNameBytes) }
        writer.writeOptional(model) { w, v in w.writeString(v, maxBytes: AcceleratorGroup.maxNameBytes) }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let kind = try AcceleratorKind(from: &reader)
        let vendor = try reader.readOptional("accelerator vendor") { (r: inout WireReader) throws(WireError) in
            try r.readIdentifier(maxBytes: AcceleratorGroup.maxNameBytes, "accelerator vendor")
        }
        let model = try reader.readOptional("accelerator model") { (r: inout WireReader) throws(WireError) in
            try r.readIdentifier(maxBytes: AcceleratorGroup.maxNameBytes, "accelerator model")
        }
        self = AcceleratorClass(kind: kind, validatedVendor: vendor, model: model)
    }
}

extension Demand: WireCodable {
    public func encode(to writer: inout WireWriter) {
        writer.writeOptional(accelerator) { w, v in v.encode(to: &w) }
        writer.writeUVarint(UInt64(acceleratorCount))
        writer.writeUVarint(computeUnits)
        writer.writeUVarint(memoryMiB)
        writer.writeU8(mode.rawValue)
        writer.writeUVarint(UInt64(maxPools))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let accelerator = try reader.readOptional("accelerator class") { (r: inout WireReader) throws(WireError) in
            try AcceleratorClass(from: &r)
        }
        let count = try reader.readUVarint32("accelerator count")
        let units = try reader.readUVarint("compute units")
        let memory = try reader.readUVarint("memory MiB")
        let mode: PlacementMode = try reader.readEnum("placement mode")
        let maxPools = try reader.readUVarint16("max pools")
        try reader.skipTaggedFields("demand")
        self.init(
            accelerator: accelerator, acceleratorCount: count, computeUnits: units, memoryMiB: memory, mode: mode,
            maxPools: maxPools)
    }
}

extension Constraints: WireCodable {
    public func encode(to writer: inout WireWriter) {
        writer.writeArray(residency, maxCount: Constraints.maxResidencyRegions) { w, v in v.encode(to: &w) }
        writer.writeArray(certifications, maxCount: PoolDescriptor.maxCertifications) { w, v in v.encode(to: &w) }
        writer.writeArray(architectures, maxCount: Constraints.maxArchitectures) { w, v in v.encode(to: &w) }
        writer.writeOptional(maxPricePerUnitHour) { w, v in v.encode(to: &w) }
        writer.writeOptional(maxLatency) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let residency = try reader.readArray(maxCount: Constraints.maxResidencyRegions, minElementBytes: 2, "residency regions") {
            (r: inout WireReader) throws(WireError) in try Region(from: &r)
        }
        let certifications = try reader.readArray(
            maxCount: PoolDescriptor.maxCertifications, minElementBytes: 2, "certifications"
        ) {
            (r: inout WireReader) throws(WireError) in try Certification(from: &r)
        }
        let architectures = try reader.readArray(maxCount: Constraints.maxArchitectures, "architectures") {
            (r: inout WireReader) throws(WireError) in
            try CPUArchitecture(from: &r)
        }
        let maxPrice = try reader.readOptional("max price") { (r: inout WireReader) throws(WireError) in try Price(from: &r) }
        let maxLatency = try reader.readOptional("max latency") { (r: inout WireReader) throws(WireError) in
            try MeshDuration(from: &r)
        }
        try reader.skipTaggedFields("constraints")
        self.init(
            residency: residency, certifications: certifications, architectures: architectures,
            maxPricePerUnitHour: maxPrice, maxLatency: maxLatency)
    }
}

extension Weights: WireCodable {
    public func encode(to writer: inout WireWriter) {
        precondition(price <= 1000 && latency <= 1000 && green <= 1000, "weights are permille: \(self)")
        writer.writeUVarint(UInt64(price))
        writer.writeUVarint(UInt64(latency))
        writer.writeUVarint(UInt64(green))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let price = try reader.readUVarint(max: 1000, "price weight")
        let latency = try reader.readUVarint(max: 1000, "latency weight")
        let green = try reader.readUVarint(max: 1000, "green weight")
        try reader.skipTaggedFields("weights")
        self.init(price: UInt16(price), latency: UInt16(latency), green: UInt16(green))
    }
}

extension WireReader {
    mutating func readIdempotencyKey() throws(WireError) -> String {
        let start = offset
        let key = try readString(maxBytes: PlacementRequest.maxIdempotencyKeyBytes, "idempotency key")
        if key.isEmpty { throw WireError(.invalidValue, at: start, "idempotency key must not be empty") }
        return key
    }
}

// MARK: - PLACE

extension PlacementRequest: WireMessageBody {
    public static let messageType = MessageType.place

    public func encode(to writer: inout WireWriter) {
        precondition(!idempotencyKey.isEmpty, "an idempotency key must not be empty")
        writer.write(requestID)
        tenant.encode(to: &writer)
        sector.encode(to: &writer)
        writer.writeString(idempotencyKey, maxBytes: PlacementRequest.maxIdempotencyKeyBytes)
        demand.encode(to: &writer)
        constraints.encode(to: &writer)
        weights.encode(to: &writer)
        leaseDuration.encode(to: &writer)
        deadline.encode(to: &writer)
        origin.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let requestID: RequestID = try reader.readID("request ID")
        let tenant = try TenantID(from: &reader)
        let sector = try Sector(from: &reader)
        let key = try reader.readIdempotencyKey()
        let demand = try Demand(from: &reader)
        let constraints = try Constraints(from: &reader)
        let weights = try Weights(from: &reader)
        let leaseDuration = try MeshDuration(from: &reader)
        let deadline = try MeshInstant(from: &reader)
        let origin = try NodeID(from: &reader)
        try reader.skipTaggedFields("placement request")
        self.init(
            requestID: requestID, tenant: tenant, sector: sector, idempotencyKey: key, demand: demand,
            constraints: constraints, weights: weights, leaseDuration: leaseDuration, deadline: deadline, origin: origin)
    }
}

// MARK: - Reservations

extension ReservationRef: WireCodable {
    /// A kind byte (1 hold, 2 lease), then the 16-byte ID.
    public func encode(to writer: inout WireWriter) {
        switch self {
        case .hold(let id):
            writer.writeU8(1)
            writer.write(id)
        case .lease(let id):
            writer.writeU8(2)
            writer.write(id)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let start = reader.offset
        switch try reader.readU8("reservation kind") {
        case 1: self = .hold(try reader.readID("hold ID"))
        case 2: self = .lease(try reader.readID("lease ID"))
        case let kind: throw WireError(.invalidValue, at: start, "reservation kind \(kind) is not defined (1 hold, 2 lease)")
        }
    }
}

extension Lease: WireCodable {
    public func encode(to writer: inout WireWriter) {
        writer.write(leaseID)
        writer.write(holdID)
        pool.encode(to: &writer)
        tenant.encode(to: &writer)
        writer.writeUVarint(computeUnits)
        writer.writeUVarint(memoryMiB)
        writer.writeUVarint(UInt64(acceleratorCount))
        pricePerUnitHour.encode(to: &writer)
        startsAt.encode(to: &writer)
        expiresAt.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let leaseID: LeaseID = try reader.readID("lease ID")
        let holdID: HoldID = try reader.readID("hold ID")
        let pool = try ComputeID(from: &reader)
        let tenant = try TenantID(from: &reader)
        let units = try reader.readUVarint("compute units")
        let memory = try reader.readUVarint("memory MiB")
        let accelerators = try reader.readUVarint32("accelerator count")
        let price = try Price(from: &reader)
        let startsAt = try MeshInstant(from: &reader)
        let expiresAt = try MeshInstant(from: &reader)
        try reader.skipTaggedFields("lease")
        self.init(
            leaseID: leaseID, holdID: holdID, pool: pool, tenant: tenant, computeUnits: units, memoryMiB: memory,
            acceleratorCount: accelerators, pricePerUnitHour: price, startsAt: startsAt, expiresAt: expiresAt)
    }
}

// MARK: - QUOTE_REQUEST

/// Asks a pool's owner for a firm quote: re-check your ledger, hold the capacity for `holdFor`,
/// and answer with QUOTE or REFUSE.
public struct QuoteRequest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.quoteRequest
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

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        requester.encode(to: &writer)
        pool.encode(to: &writer)
        tenant.encode(to: &writer)
        sector.encode(to: &writer)
        demand.encode(to: &writer)
        holdFor.encode(to: &writer)
        deadline.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        requester = try NodeID(from: &reader)
        pool = try ComputeID(from: &reader)
        tenant = try TenantID(from: &reader)
        sector = try Sector(from: &reader)
        demand = try Demand(from: &reader)
        holdFor = try MeshDuration(from: &reader)
        deadline = try MeshInstant(from: &reader)
        try reader.skipTaggedFields("quote request")
    }
}

// MARK: - QUOTE

/// A firm quote: the owner holds the capacity under `holdID` until `holdExpiresAt`.
public struct Quote: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.quote
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

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        writer.write(holdID)
        pool.encode(to: &writer)
        writer.writeUVarint(computeUnits)
        writer.writeUVarint(memoryMiB)
        writer.writeUVarint(UInt64(acceleratorCount))
        pricePerUnitHour.encode(to: &writer)
        holdExpiresAt.encode(to: &writer)
        writer.writeUVarint(ledgerVersion)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        holdID = try reader.readID("hold ID")
        pool = try ComputeID(from: &reader)
        computeUnits = try reader.readUVarint("compute units")
        memoryMiB = try reader.readUVarint("memory MiB")
        acceleratorCount = try reader.readUVarint32("accelerator count")
        pricePerUnitHour = try Price(from: &reader)
        holdExpiresAt = try MeshInstant(from: &reader)
        ledgerVersion = try reader.readUVarint("ledger version")
        try reader.skipTaggedFields("quote")
    }
}

// MARK: - REFUSE

/// A refusal of a PLACE, QUOTE_REQUEST, CONFIRM, RENEW or FORWARD, with the reason and, from an
/// owner, its fresh availability so the requester's view heals at once.
public struct Refuse: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.refuse
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

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        writer.writeU8(reason.rawValue)
        writer.writeString(message, maxBytes: FieldLimits.maxTextBytes)
        writer.writeOptional(pool) { w, v in v.encode(to: &w) }
        writer.writeOptional(freshAvailability) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        reason = try reader.readEnum("refuse reason")
        message = try reader.readString(maxBytes: FieldLimits.maxTextBytes, "message")
        pool = try reader.readOptional("pool") { (r: inout WireReader) throws(WireError) in try ComputeID(from: &r) }
        freshAvailability = try reader.readOptional("fresh availability") { (r: inout WireReader) throws(WireError) in
            try PoolAvailability(from: &r)
        }
        try reader.skipTaggedFields("refuse")
    }
}

// MARK: - CONFIRM / CONFIRMED

/// Turns a hold into a lease. The owner MUST answer only after the lease is durably recorded.
public struct Confirm: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.confirm
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

    public func encode(to writer: inout WireWriter) {
        precondition(!idempotencyKey.isEmpty, "an idempotency key must not be empty")
        writer.write(requestID)
        writer.write(holdID)
        writer.writeString(idempotencyKey, maxBytes: PlacementRequest.maxIdempotencyKeyBytes)
        leaseDuration.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        holdID = try reader.readID("hold ID")
        idempotencyKey = try reader.readIdempotencyKey()
        leaseDuration = try MeshDuration(from: &reader)
        try reader.skipTaggedFields("confirm")
    }
}

/// The owner's answer to CONFIRM: the lease, durably recorded.
public struct Confirmed: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.confirmed
    public var requestID: RequestID
    public var lease: Lease

    public init(requestID: RequestID, lease: Lease) {
        self.requestID = requestID
        self.lease = lease
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        lease.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        lease = try Lease(from: &reader)
        try reader.skipTaggedFields("confirmed")
    }
}

// MARK: - RELEASE / RENEW / LEASE_STATE

/// Gives back a hold or a lease. Answered by LEASE_STATE.
public struct Release: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.release
    public var reservation: ReservationRef

    public init(reservation: ReservationRef) { self.reservation = reservation }

    public func encode(to writer: inout WireWriter) {
        reservation.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        reservation = try ReservationRef(from: &reader)
        try reader.skipTaggedFields("release")
    }
}

/// Extends a lease by `extendBy` from its current expiry. Always answered by LEASE_STATE: `leased`
/// with the new expiry, or `expired` / `released` / `unknown` when there is nothing to renew.
public struct Renew: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.renew
    public var leaseID: LeaseID
    public var extendBy: MeshDuration

    public init(leaseID: LeaseID, extendBy: MeshDuration) {
        self.leaseID = leaseID
        self.extendBy = extendBy
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(leaseID)
        extendBy.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        leaseID = try reader.readID("lease ID")
        extendBy = try MeshDuration(from: &reader)
        try reader.skipTaggedFields("renew")
    }
}

/// A reservation's state at its owner, after RELEASE or RENEW.
public struct LeaseStatus: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.leaseState
    public var reservation: ReservationRef
    public var state: ReservationState
    /// When it expires (or expired); zero for `unknown`.
    public var expiresAt: MeshInstant

    public init(reservation: ReservationRef, state: ReservationState, expiresAt: MeshInstant) {
        self.reservation = reservation
        self.state = state
        self.expiresAt = expiresAt
    }

    public func encode(to writer: inout WireWriter) {
        reservation.encode(to: &writer)
        writer.writeU8(state.rawValue)
        expiresAt.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        reservation = try ReservationRef(from: &reader)
        state = try reader.readEnum("reservation state")
        expiresAt = try MeshInstant(from: &reader)
        try reader.skipTaggedFields("lease state")
    }
}

// MARK: - FORWARD

/// A placement request passed upward (industry → regional) or sideways (regional → regional,
/// spillover). `path` lists the nodes it has passed, origin first; a node that finds itself on
/// the path refuses with `loopDetected`, and `hopLimit` counts down to zero.
public struct Forward: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.forward
    public var request: PlacementRequest
    public var hopLimit: UInt8
    public var path: [NodeID]

    public init(request: PlacementRequest, hopLimit: UInt8, path: [NodeID]) {
        self.request = request
        self.hopLimit = hopLimit
        self.path = path
    }

    public func encode(to writer: inout WireWriter) {
        precondition(Int(hopLimit) <= FieldLimits.maxPathNodes, "hop limit \(hopLimit) > \(FieldLimits.maxPathNodes)")
        request.encode(to: &writer)
        writer.writeU8(hopLimit)
        writer.writeArray(path, maxCount: FieldLimits.maxPathNodes) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        request = try PlacementRequest(from: &reader)
        let hopOffset = reader.offset
        hopLimit = try reader.readU8("hop limit")
        if Int(hopLimit) > FieldLimits.maxPathNodes {
            throw WireError(.invalidValue, at: hopOffset, "hop limit \(hopLimit) exceeds \(FieldLimits.maxPathNodes)")
        }
        path = try reader.readNodePath()
        try reader.skipTaggedFields("forward")
    }
}

extension WireReader {
    fileprivate mutating func readNodePath() throws(WireError) -> [NodeID] {
        try readArray(maxCount: FieldLimits.maxPathNodes, minElementBytes: NodeID.byteCount, "path") {
            (r: inout WireReader) throws(WireError) in try NodeID(from: &r)
        }
    }
}

// MARK: - Explanations

extension CandidateVerdict: WireCodable {
    /// Pool, inventory epoch and sequence, age, then an outcome byte: 1 filtered (reason byte,
    /// detail text) or 2 scored (price, latency, green, total, each a varint in ppm).
    public func encode(to writer: inout WireWriter) {
        pool.encode(to: &writer)
        writer.writeUVarint(inventoryEpoch)
        writer.writeUVarint(inventorySequence)
        inventoryAge.encode(to: &writer)
        switch outcome {
        case .filtered(let reason, let detail):
            writer.writeU8(1)
            writer.writeU8(reason.rawValue)
            writer.writeString(detail, maxBytes: CandidateVerdict.maxDetailBytes)
        case .scored(let score):
            writer.writeU8(2)
            writer.writeUVarint(UInt64(score.price))
            writer.writeUVarint(UInt64(score.latency))
            writer.writeUVarint(UInt64(score.green))
            writer.writeUVarint(UInt64(score.total))
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let pool = try ComputeID(from: &reader)
        let epoch = try reader.readUVarint("inventory epoch")
        let sequence = try reader.readUVarint("inventory sequence")
        let age = try MeshDuration(from: &reader)
        let start = reader.offset
        let outcome: CandidateOutcome
        switch try reader.readU8("verdict kind") {
        case 1:
            let reason: FilterReason = try reader.readEnum("filter reason")
            outcome = .filtered(reason, detail: try reader.readString(maxBytes: CandidateVerdict.maxDetailBytes, "detail"))
        case 2:
            let price = try reader.readUVarint32("price score")
            let latency = try reader.readUVarint32("latency score")
            let green = try reader.readUVarint32("green score")
            let total = try reader.readUVarint32("total score")
            outcome = .scored(ScoreVector(price: price, latency: latency, green: green, total: total))
        case let kind: throw WireError(.invalidValue, at: start, "verdict kind \(kind) is not defined (1 filtered, 2 scored)")
        }
        self.init(pool: pool, inventoryEpoch: epoch, inventorySequence: sequence, inventoryAge: age, outcome: outcome)
    }
}

extension Explanation: WireCodable {
    public func encode(to writer: inout WireWriter) {
        precondition(obeysSumRule, "explanation breaks the sum rule: \(filteredCount) + \(scoredCount) != \(consideredCount)")
        writer.write(requestID)
        decidedBy.encode(to: &writer)
        decidedAt.encode(to: &writer)
        writer.writeArray(path, maxCount: FieldLimits.maxPathNodes) { w, v in v.encode(to: &w) }
        writer.writeUVarint(UInt64(consideredCount))
        writer.writeUVarint(UInt64(filteredCount))
        writer.writeUVarint(UInt64(scoredCount))
        writer.writeArray(verdicts, maxCount: FieldLimits.maxVerdicts) { w, v in v.encode(to: &w) }
        writer.writeOptional(chosen) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let requestID: RequestID = try reader.readID("request ID")
        let decidedBy = try NodeID(from: &reader)
        let decidedAt = try MeshInstant(from: &reader)
        let path = try reader.readNodePath()
        let countsOffset = reader.offset
        let considered = try reader.readUVarint32("considered count")
        let filtered = try reader.readUVarint32("filtered count")
        let scored = try reader.readUVarint32("scored count")
        let verdicts = try reader.readArray(maxCount: FieldLimits.maxVerdicts, minElementBytes: 40, "verdicts") {
            (r: inout WireReader) throws(WireError) in try CandidateVerdict(from: &r)
        }
        let chosen = try reader.readOptional("chosen pool") { (r: inout WireReader) throws(WireError) in
            try ComputeID(from: &r)
        }
        try reader.skipTaggedFields("explanation")
        self.init(
            requestID: requestID, decidedBy: decidedBy, decidedAt: decidedAt, path: path, consideredCount: considered,
            filteredCount: filtered, scoredCount: scored, verdicts: verdicts, chosen: chosen)
        if !obeysSumRule {
            throw WireError(
                .invalidValue, at: countsOffset,
                "explanation counts break the sum rule: filtered \(filtered) + scored \(scored) must equal considered \(considered), with at most that many verdicts"
            )
        }
    }
}

// MARK: - OUTCOME

/// The final answer to a PLACE or FORWARD: the leases made, or the refusal, with the
/// explanation of the decision.
public struct Outcome: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.outcome
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

    public func encode(to writer: inout WireWriter) {
        precondition(!idempotencyKey.isEmpty, "an idempotency key must not be empty")
        writer.write(requestID)
        writer.writeString(idempotencyKey, maxBytes: PlacementRequest.maxIdempotencyKeyBytes)
        switch result {
        case .placed(let leases):
            writer.writeU8(1)
            writer.writeArray(leases, maxCount: FieldLimits.maxLeasesPerOutcome) { w, v in v.encode(to: &w) }
        case .refused(let reason, let message):
            writer.writeU8(2)
            writer.writeU8(reason.rawValue)
            writer.writeString(message, maxBytes: FieldLimits.maxTextBytes)
        }
        explanation.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        idempotencyKey = try reader.readIdempotencyKey()
        let start = reader.offset
        switch try reader.readU8("result kind") {
        case 1:
            result = .placed(
                try reader.readArray(maxCount: FieldLimits.maxLeasesPerOutcome, minElementBytes: 48, "leases") {
                    (r: inout WireReader) throws(WireError) in try Lease(from: &r)
                })
        case 2:
            let reason: RefuseReason = try reader.readEnum("refuse reason")
            result = .refused(reason, message: try reader.readString(maxBytes: FieldLimits.maxTextBytes, "message"))
        case let kind: throw WireError(.invalidValue, at: start, "result kind \(kind) is not defined (1 placed, 2 refused)")
        }
        explanation = try Explanation(from: &reader)
        try reader.skipTaggedFields("outcome")
    }
}
