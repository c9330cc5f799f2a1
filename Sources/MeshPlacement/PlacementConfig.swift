public import MeshCore

/// The limits and timings of a node's placement cores. Every queue, fan-out, retry and hop count
/// has a bound here (TigerStyle: a limit on everything).
public struct PlacementConfig: Hashable, Sendable {
    /// How many of the best-scored candidates get a quote request in one round.
    public var quoteFanOut: Int
    /// The most quote rounds one request may run before it is refused.
    public var maxQuoteRounds: Int
    /// How long an owner holds capacity for a quote.
    public var holdTTLMilliseconds: UInt64
    /// How long a requester waits for the answers of one quote round.
    public var quoteTimeoutMilliseconds: UInt64
    /// How long a requester waits for CONFIRMED before asking the owner again (a repeated CONFIRM
    /// of the same hold returns the same lease), until the request's deadline.
    public var confirmTimeoutMilliseconds: UInt64
    /// How long an idempotency key keeps its outcome.
    public var idempotencyWindowMilliseconds: UInt64
    /// The most idempotency keys remembered at once; beyond it new requests are refused as overloaded.
    public var maxIdempotencyKeys: Int
    /// The most requests in flight at one requester.
    public var maxInFlight: Int
    /// The most verdicts one explanation keeps (the counts always cover every candidate).
    public var maxVerdicts: Int
    /// The most candidates one decision judges; beyond it a window of the index is judged.
    public var maxCandidatesConsidered: Int
    /// The most explanations kept for "why" questions.
    public var maxExplanations: Int
    /// The hop limit a forwarded request starts with (at most ``PlacementConfig/hopLimitCeiling``).
    public var forwardHopLimit: UInt8
    /// How long a node waits for the outcome of a forwarded request.
    public var forwardTimeoutMilliseconds: UInt64
    /// How long past the request's deadline a node waits for a forwarded request's outcome, per
    /// hop the request may still take: the node it forwarded to stops at the deadline, and its
    /// answer still has to travel back.
    public var forwardGraceMilliseconds: UInt64
    /// How long an owner waits for the holder of a new lease to acknowledge it (RENEW with
    /// `extendBy` zero, sent once the lease has been reported to a tenant) before it abandons the
    /// lease: a lease that no tenant can learn of ends within this bound (SPEC §6.6.12). A
    /// requester keeps what it knows of an unanswered request (in doubt) for the same time.
    public var acknowledgeWithinMilliseconds: UInt64
    /// How long a requester tries to have the leases of a placement acknowledged before it reports
    /// the placement as in doubt (a retry with the same key acknowledges and returns them).
    public var acknowledgeTimeoutMilliseconds: UInt64
    /// How often an unanswered acknowledgement is sent again.
    public var acknowledgeRetryMilliseconds: UInt64
    /// How long a node it could not reach is skipped as a quote candidate or forward target,
    /// unless it is heard from earlier.
    public var unreachableCooldownMilliseconds: UInt64
    /// The most pools one node may register.
    public var maxPoolsPerNode: Int
    /// The most holds an owner keeps at once; beyond it quote requests are refused as overloaded.
    public var maxHolds: Int
    /// Confirmations an owner remembers after the fact, so a repeated CONFIRM returns the same lease.
    public var maxRememberedConfirms: Int
    /// The longest lease a request may ask for, and the longest single renewal.
    public var maxLeaseMilliseconds: UInt64
    /// The largest quantities one request may ask for: beyond them a demand is absurd.
    public var maxComputeUnits: UInt64
    public var maxMemoryMiB: UInt64
    public var maxAcceleratorCount: UInt32
    /// The most pools a spread demand may use.
    public var maxSpreadPools: UInt16
    /// Scores normalise prices against this reference when the request names no maximum.
    public var referencePricePerUnitHour: Price
    /// Scores normalise latency against this reference when the request names no maximum.
    public var referenceLatencyMilliseconds: UInt64
    /// A node serving a request spilled over from another region asks an owner only when its
    /// figures for the pool are this fresh, or show spare room (see
    /// ``spilloverSpareRoomPermille``). Spilled requests otherwise race the region's own requests
    /// for capacity the view shows but which is already gone: at saturation, blind spillover
    /// mostly moves placements between regions at the cost of failed quote rounds.
    public var spilloverFreshMilliseconds: UInt64
    /// The spare room, beyond the demand, that makes older figures good enough for a spilled
    /// request, in per mille of the demand (1000: room for the demand twice over).
    public var spilloverSpareRoomPermille: UInt64

    /// The highest hop limit the federation allows (issue 5: ≤ 3).
    public static let hopLimitCeiling: UInt8 = 3

    public init(
        quoteFanOut: Int = 3, maxQuoteRounds: Int = 3, holdTTLMilliseconds: UInt64 = 2_000,
        quoteTimeoutMilliseconds: UInt64 = 500, confirmTimeoutMilliseconds: UInt64 = 1_000,
        idempotencyWindowMilliseconds: UInt64 = 600_000, maxIdempotencyKeys: Int = 100_000, maxInFlight: Int = 10_000,
        maxVerdicts: Int = 256, maxCandidatesConsidered: Int = 512, maxExplanations: Int = 4_096, forwardHopLimit: UInt8 = 3,
        forwardTimeoutMilliseconds: UInt64 = 5_000, forwardGraceMilliseconds: UInt64 = 300,
        acknowledgeWithinMilliseconds: UInt64 = 30_000, acknowledgeTimeoutMilliseconds: UInt64 = 2_000,
        acknowledgeRetryMilliseconds: UInt64 = 500, unreachableCooldownMilliseconds: UInt64 = 3_000,
        maxPoolsPerNode: Int = 4_096, maxHolds: Int = 100_000,
        maxRememberedConfirms: Int = 100_000, maxLeaseMilliseconds: UInt64 = 366 * 86_400_000,
        maxComputeUnits: UInt64 = 100_000_000, maxMemoryMiB: UInt64 = 1 << 40, maxAcceleratorCount: UInt32 = 1_000_000,
        maxSpreadPools: UInt16 = 16, referencePricePerUnitHour: Price = Price(microYuan: 10_000_000),
        referenceLatencyMilliseconds: UInt64 = 200, spilloverFreshMilliseconds: UInt64 = 250,
        spilloverSpareRoomPermille: UInt64 = 1_000
    ) {
        precondition(quoteFanOut >= 1 && maxQuoteRounds >= 1, "fan-out and rounds must be positive")
        precondition(maxCandidatesConsidered >= quoteFanOut, "a decision must judge at least the fan-out")
        precondition(forwardHopLimit <= PlacementConfig.hopLimitCeiling, "hop limit \(forwardHopLimit) > ceiling")
        precondition(
            acknowledgeWithinMilliseconds > acknowledgeTimeoutMilliseconds + forwardGraceMilliseconds * 4,
            "an owner must wait for an acknowledgement longer than a requester tries to send one")
        self.quoteFanOut = quoteFanOut
        self.maxQuoteRounds = maxQuoteRounds
        self.holdTTLMilliseconds = holdTTLMilliseconds
        self.quoteTimeoutMilliseconds = quoteTimeoutMilliseconds
        self.confirmTimeoutMilliseconds = confirmTimeoutMilliseconds
        self.idempotencyWindowMilliseconds = idempotencyWindowMilliseconds
        self.maxIdempotencyKeys = maxIdempotencyKeys
        self.maxInFlight = maxInFlight
        self.maxVerdicts = maxVerdicts
        self.maxCandidatesConsidered = maxCandidatesConsidered
        self.maxExplanations = maxExplanations
        self.forwardHopLimit = forwardHopLimit
        self.forwardTimeoutMilliseconds = forwardTimeoutMilliseconds
        self.forwardGraceMilliseconds = forwardGraceMilliseconds
        self.acknowledgeWithinMilliseconds = acknowledgeWithinMilliseconds
        self.acknowledgeTimeoutMilliseconds = acknowledgeTimeoutMilliseconds
        self.acknowledgeRetryMilliseconds = acknowledgeRetryMilliseconds
        self.unreachableCooldownMilliseconds = unreachableCooldownMilliseconds
        self.maxPoolsPerNode = maxPoolsPerNode
        self.maxHolds = maxHolds
        self.maxRememberedConfirms = maxRememberedConfirms
        self.maxLeaseMilliseconds = maxLeaseMilliseconds
        self.maxComputeUnits = maxComputeUnits
        self.maxMemoryMiB = maxMemoryMiB
        self.maxAcceleratorCount = maxAcceleratorCount
        self.maxSpreadPools = maxSpreadPools
        self.referencePricePerUnitHour = referencePricePerUnitHour
        self.referenceLatencyMilliseconds = referenceLatencyMilliseconds
        self.spilloverFreshMilliseconds = spilloverFreshMilliseconds
        self.spilloverSpareRoomPermille = spilloverSpareRoomPermille
    }
}

/// A request that cannot be acted on, with the reason a REFUSE names.
public struct RequestRejection: Hashable, Sendable, Error {
    public var reason: RefuseReason
    public var message: String

    public init(_ reason: RefuseReason, _ message: String) {
        self.reason = reason
        self.message = message
    }
}

/// Checks that apply before any pool is looked at: bad input is refused with its reason and
/// nothing is reserved.
public enum RequestValidation {
    /// Validates the parts of a request every node checks the same way.
    public static func check(_ request: PlacementRequest, now: MeshInstant, config: PlacementConfig) -> RequestRejection? {
        if !request.sector.isKnown {
            return RequestRejection(.unknownSector, "sector \"\(request.sector)\" is not one this federation recognises")
        }
        if request.deadline <= now {
            return RequestRejection(.deadlineExpired, "the deadline \(request.deadline) is not after now (\(now))")
        }
        if request.idempotencyKey.isEmpty || request.idempotencyKey.utf8.count > PlacementRequest.maxIdempotencyKeyBytes {
            return RequestRejection(
                .invalidDemand, "the idempotency key must be 1 to \(PlacementRequest.maxIdempotencyKeyBytes) bytes")
        }
        if request.leaseDuration.milliseconds == 0 || request.leaseDuration.milliseconds > config.maxLeaseMilliseconds {
            return RequestRejection(
                .invalidDemand,
                "lease duration \(request.leaseDuration) must be positive and at most \(config.maxLeaseMilliseconds)ms")
        }
        if let rejection = checkDemand(request.demand, config: config) { return rejection }
        if request.constraints.residency.count > Constraints.maxResidencyRegions {
            return RequestRejection(.invalidDemand, "more than \(Constraints.maxResidencyRegions) residency regions")
        }
        return nil
    }

    /// Validates a demand: not empty, not absurd, not contradictory.
    public static func checkDemand(_ demand: Demand, config: PlacementConfig) -> RequestRejection? {
        if demand.computeUnits == 0 && demand.acceleratorCount == 0 {
            return RequestRejection(.invalidDemand, "the demand asks for no compute units and no accelerators")
        }
        if demand.computeUnits > config.maxComputeUnits {
            return RequestRejection(
                .invalidDemand, "\(demand.computeUnits) compute units is absurd; the limit is \(config.maxComputeUnits)")
        }
        if demand.memoryMiB > config.maxMemoryMiB {
            return RequestRejection(.invalidDemand, "\(demand.memoryMiB) MiB is absurd; the limit is \(config.maxMemoryMiB)")
        }
        if demand.acceleratorCount > config.maxAcceleratorCount {
            return RequestRejection(
                .invalidDemand, "\(demand.acceleratorCount) accelerators is absurd; the limit is \(config.maxAcceleratorCount)")
        }
        if demand.acceleratorCount > 0 && demand.accelerator == nil {
            return RequestRejection(.invalidDemand, "accelerators are counted but no accelerator class is named")
        }
        if demand.accelerator != nil && demand.acceleratorCount == 0 {
            return RequestRejection(.invalidDemand, "an accelerator class is named but the count is zero")
        }
        switch demand.mode {
        case .gang:
            if demand.maxPools != 1 {
                return RequestRejection(.invalidDemand, "a gang demand uses exactly one pool, not \(demand.maxPools)")
            }
        case .spread:
            if demand.maxPools < 1 || demand.maxPools > config.maxSpreadPools {
                return RequestRejection(
                    .invalidDemand, "a spread demand uses 1 to \(config.maxSpreadPools) pools, not \(demand.maxPools)")
            }
        }
        return nil
    }
}
