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
        self = PlacementRequest(
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

// MARK: - Placement message bodies (the data types live in MeshCore's PlacementMessages.swift)
//
// The decoding initialisers end with `self = T(...)`, not `self.init(...)`: Swift 6.3 at -Onone
// miscompiles a delegating initialiser with typed throws when a value with a UInt128 enum payload
// (ReservationRef) is live across a throwing call, and the debug build crashes on a misaligned
// load (Tests/MeshWireTests/ToolchainWorkaroundTests.swift keeps the reproducer).

extension QuoteRequest: WireMessageBody {
    public static let messageType = MessageType.quoteRequest

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
        let requestID: RequestID = try reader.readID("request ID")
        let requester = try NodeID(from: &reader)
        let pool = try ComputeID(from: &reader)
        let tenant = try TenantID(from: &reader)
        let sector = try Sector(from: &reader)
        let demand = try Demand(from: &reader)
        let holdFor = try MeshDuration(from: &reader)
        let deadline = try MeshInstant(from: &reader)
        try reader.skipTaggedFields("quote request")
        self = QuoteRequest(
            requestID: requestID, requester: requester, pool: pool, tenant: tenant, sector: sector, demand: demand,
            holdFor: holdFor, deadline: deadline)
    }
}

extension Quote: WireMessageBody {
    public static let messageType = MessageType.quote

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
        let requestID: RequestID = try reader.readID("request ID")
        let holdID: HoldID = try reader.readID("hold ID")
        let pool = try ComputeID(from: &reader)
        let computeUnits = try reader.readUVarint("compute units")
        let memoryMiB = try reader.readUVarint("memory MiB")
        let acceleratorCount = try reader.readUVarint32("accelerator count")
        let price = try Price(from: &reader)
        let holdExpiresAt = try MeshInstant(from: &reader)
        let ledgerVersion = try reader.readUVarint("ledger version")
        try reader.skipTaggedFields("quote")
        self = Quote(
            requestID: requestID, holdID: holdID, pool: pool, computeUnits: computeUnits, memoryMiB: memoryMiB,
            acceleratorCount: acceleratorCount, pricePerUnitHour: price, holdExpiresAt: holdExpiresAt,
            ledgerVersion: ledgerVersion)
    }
}

extension Refuse: WireMessageBody {
    public static let messageType = MessageType.refuse

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        writer.writeU8(reason.rawValue)
        writer.writeString(message, maxBytes: FieldLimits.maxTextBytes)
        writer.writeOptional(pool) { w, v in v.encode(to: &w) }
        writer.writeOptional(freshAvailability) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let requestID: RequestID = try reader.readID("request ID")
        let reason: RefuseReason = try reader.readEnum("refuse reason")
        let message = try reader.readString(maxBytes: FieldLimits.maxTextBytes, "message")
        let pool = try reader.readOptional("pool") { (r: inout WireReader) throws(WireError) in try ComputeID(from: &r) }
        let fresh = try reader.readOptional("fresh availability") { (r: inout WireReader) throws(WireError) in
            try PoolAvailability(from: &r)
        }
        try reader.skipTaggedFields("refuse")
        self = Refuse(requestID: requestID, reason: reason, message: message, pool: pool, freshAvailability: fresh)
    }
}

extension Confirm: WireMessageBody {
    public static let messageType = MessageType.confirm

    public func encode(to writer: inout WireWriter) {
        precondition(!idempotencyKey.isEmpty, "an idempotency key must not be empty")
        writer.write(requestID)
        writer.write(holdID)
        writer.writeString(idempotencyKey, maxBytes: PlacementRequest.maxIdempotencyKeyBytes)
        leaseDuration.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let requestID: RequestID = try reader.readID("request ID")
        let holdID: HoldID = try reader.readID("hold ID")
        let key = try reader.readIdempotencyKey()
        let leaseDuration = try MeshDuration(from: &reader)
        try reader.skipTaggedFields("confirm")
        self = Confirm(requestID: requestID, holdID: holdID, idempotencyKey: key, leaseDuration: leaseDuration)
    }
}

extension Confirmed: WireMessageBody {
    public static let messageType = MessageType.confirmed

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        lease.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let requestID: RequestID = try reader.readID("request ID")
        let lease = try Lease(from: &reader)
        try reader.skipTaggedFields("confirmed")
        self = Confirmed(requestID: requestID, lease: lease)
    }
}

extension WireWriter {
    /// Tag 0 `route` (SPEC §6.6.13) when the route is not empty, else no tagged fields.
    fileprivate mutating func writeRoute(_ route: LeaseRoute) {
        if route.isEmpty {
            writeNoTaggedFields()
        } else {
            writeTaggedFields([
                (0, { w in w.writeArray(route, maxCount: FieldLimits.maxPathNodes) { w, v in v.encode(to: &w) } })
            ])
        }
    }
}

extension WireReader {
    /// The tagged section of RENEW, RELEASE and LEASE_STATE: tag 0 is the route.
    fileprivate mutating func readRoute(_ what: StaticString) throws(WireError) -> LeaseRoute {
        var route: LeaseRoute = []
        try readTaggedFields(what) { (tag, r: inout WireReader) throws(WireError) in
            guard tag == 0 else { return false }
            route = try r.readNodePath()
            return true
        }
        return route
    }
}

extension Release: WireMessageBody {
    public static let messageType = MessageType.release

    public func encode(to writer: inout WireWriter) {
        reservation.encode(to: &writer)
        writer.writeRoute(route)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let reservation = try ReservationRef(from: &reader)
        let route = try reader.readRoute("release")
        self = Release(reservation: reservation, route: route)
    }
}

extension Renew: WireMessageBody {
    public static let messageType = MessageType.renew

    public func encode(to writer: inout WireWriter) {
        writer.write(leaseID)
        extendBy.encode(to: &writer)
        writer.writeRoute(route)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let leaseID: LeaseID = try reader.readID("lease ID")
        let extendBy = try MeshDuration(from: &reader)
        let route = try reader.readRoute("renew")
        self = Renew(leaseID: leaseID, extendBy: extendBy, route: route)
    }
}

extension LeaseStatus: WireMessageBody {
    public static let messageType = MessageType.leaseState

    public func encode(to writer: inout WireWriter) {
        reservation.encode(to: &writer)
        writer.writeU8(state.rawValue)
        expiresAt.encode(to: &writer)
        writer.writeRoute(route)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let reservation = try ReservationRef(from: &reader)
        let state: ReservationState = try reader.readEnum("reservation state")
        let expiresAt = try MeshInstant(from: &reader)
        let route = try reader.readRoute("lease state")
        self = LeaseStatus(reservation: reservation, state: state, expiresAt: expiresAt, route: route)
    }
}

extension Forward: WireMessageBody {
    public static let messageType = MessageType.forward

    public func encode(to writer: inout WireWriter) {
        precondition(Int(hopLimit) <= FieldLimits.maxPathNodes, "hop limit \(hopLimit) > \(FieldLimits.maxPathNodes)")
        request.encode(to: &writer)
        writer.writeU8(hopLimit)
        writer.writeArray(path, maxCount: FieldLimits.maxPathNodes) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let request = try PlacementRequest(from: &reader)
        let hopOffset = reader.offset
        let hopLimit = try reader.readU8("hop limit")
        if Int(hopLimit) > FieldLimits.maxPathNodes {
            throw WireError(.invalidValue, at: hopOffset, "hop limit \(hopLimit) exceeds \(FieldLimits.maxPathNodes)")
        }
        let path = try reader.readNodePath()
        try reader.skipTaggedFields("forward")
        self = Forward(request: request, hopLimit: hopLimit, path: path)
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

extension Outcome: WireMessageBody {
    public static let messageType = MessageType.outcome

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
        if acknowledged {
            // Tag 0 `acknowledged` (SPEC §6.6.12): present with an empty value, or absent.
            writer.writeTaggedFields([(0, { _ in })])
        } else {
            writer.writeNoTaggedFields()
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let requestID: RequestID = try reader.readID("request ID")
        let key = try reader.readIdempotencyKey()
        let start = reader.offset
        let result: PlacementResult
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
        let explanation = try Explanation(from: &reader)
        var acknowledged = false
        // Tag 0 has an empty value: any byte in it is rejected as trailing.
        try reader.readTaggedFields("outcome") { (tag, _: inout WireReader) throws(WireError) in
            guard tag == 0 else { return false }
            acknowledged = true
            return true
        }
        self = Outcome(
            requestID: requestID, idempotencyKey: key, result: result, explanation: explanation, acknowledged: acknowledged)
    }
}
