public import MeshCore

/// One scored candidate, in the order a requester asks for quotes.
public struct RankedCandidate: Hashable, Sendable {
    public var pool: ComputeID
    public var score: ScoreVector
    /// The price per unit-hour the view showed.
    public var viewPrice: Price
    /// The accelerator group the demand would use, if it names accelerators.
    public var acceleratorGroup: Int?
    /// The candidate's position in the view it was judged on.
    public var viewPosition: Int

    public init(pool: ComputeID, score: ScoreVector, viewPrice: Price, acceleratorGroup: Int?, viewPosition: Int = -1) {
        self.pool = pool
        self.score = score
        self.viewPrice = viewPrice
        self.acceleratorGroup = acceleratorGroup
        self.viewPosition = viewPosition
    }

    /// The deterministic order: higher total score first, then lower price, then lower pool ID.
    public static func precedes(_ a: RankedCandidate, _ b: RankedCandidate) -> Bool {
        if a.score.total != b.score.total { return a.score.total > b.score.total }
        if a.viewPrice != b.viewPrice { return a.viewPrice < b.viewPrice }
        return a.pool < b.pool
    }
}

/// The result of filtering and scoring a request against a view: every scored candidate in rank
/// order and the explanation of the decision (which obeys the sum rule).
public struct Decision: Sendable {
    public var ranked: [RankedCandidate]
    public var explanation: Explanation
}

/// Filtering and scoring: the part of placement any node may do on its own view.
public enum CandidateEvaluation {
    /// Filters and scores the candidates the view's indexes yield for `request`.
    ///
    /// - Parameters:
    ///   - region: the region of the deciding node, which pool policies may name.
    ///   - path: the hops the request has taken, origin first (kept in the explanation).
    public static func decide(
        _ request: PlacementRequest, view: PoolView, now: MeshInstant, decidedBy: NodeID, region: Region, path: [NodeID],
        config: PlacementConfig
    ) -> Decision {
        var positions = view.candidatePositions(for: request)
        if positions.count > config.maxCandidatesConsidered {
            // Like kube-scheduler's percentageOfNodesToScore: past a bound, judge a window of the
            // index that starts at a point derived from the request, so load spreads over all pools
            // and a decision stays bounded however large the view grows.
            let start = Int(
                truncatingIfNeeded: UInt64(truncatingIfNeeded: request.requestID.value >> 64) % UInt64(positions.count))
            let window = (0..<config.maxCandidatesConsidered).map { positions[(start + $0) % positions.count] }
            positions = window.sorted()
        }
        return decide(
            request, positions: positions, view: view, now: now, decidedBy: decidedBy, region: region, path: path, config: config)
    }

    /// The same decision without the indexes: every pool in the view is a candidate. The benchmark's
    /// reference, and a cross-check that the indexes drop only pools that could not match.
    public static func decideScanningAll(
        _ request: PlacementRequest, view: PoolView, now: MeshInstant, decidedBy: NodeID, region: Region, path: [NodeID],
        config: PlacementConfig
    ) -> Decision {
        decide(
            request, positions: Array(view.entries.indices), view: view, now: now, decidedBy: decidedBy, region: region,
            path: path, config: config)
    }

    /// A scored candidate as sorted: plain values only, so sorting moves no references.
    struct ScoredKey {
        var score: ScoreVector
        var price: UInt64
        var position: Int
        var group: Int
    }

    static func decide(
        _ request: PlacementRequest, positions: [Int], view: PoolView, now: MeshInstant, decidedBy: NodeID, region: Region,
        path: [NodeID], config: PlacementConfig
    ) -> Decision {
        var scored: [ScoredKey] = []
        var filteredPositions: [(position: Int, reason: FilterReason, code: Int)] = []
        var filteredCount: UInt32 = 0
        let keepFiltered = config.maxVerdicts
        let demand = request.demand
        let constraints = request.constraints
        return view.entries.withUnsafeBufferPointer { entries in
            let base = entries.baseAddress!
            for position in positions {
                let entry = base + position
                let (reason, code, score, group) = evaluate(
                    entry, request: request, demand: demand, constraints: constraints, now: now, region: region, config: config)
                if let reason {
                    filteredCount += 1
                    if filteredPositions.count < keepFiltered { filteredPositions.append((position, reason, code)) }
                } else {
                    scored.append(
                        ScoredKey(
                            score: score, price: entry.pointee.availability.pricePerUnitHour.microYuan, position: position,
                            group: group))
                }
            }
            scored.sort { a, b in
                if a.score.total != b.score.total { return a.score.total > b.score.total }
                if a.price != b.price { return a.price < b.price }
                return base[a.position].descriptor.id < base[b.position].descriptor.id
            }
            var ranked: [RankedCandidate] = []
            ranked.reserveCapacity(scored.count)
            var verdicts: [CandidateVerdict] = []
            verdicts.reserveCapacity(min(config.maxVerdicts, positions.count))
            for key in scored {
                let entry = base + key.position
                let candidate = RankedCandidate(
                    pool: entry.pointee.descriptor.id, score: key.score, viewPrice: Price(microYuan: key.price),
                    acceleratorGroup: key.group >= 0 ? key.group : nil, viewPosition: key.position)
                if verdicts.count < config.maxVerdicts {
                    verdicts.append(
                        CandidateVerdict(
                            pool: candidate.pool, inventoryEpoch: entry.pointee.epoch, inventorySequence: entry.pointee.sequence,
                            inventoryAge: now.since(entry.pointee.issuedAt), outcome: .scored(key.score)))
                }
                ranked.append(candidate)
            }
            for f in filteredPositions where verdicts.count < config.maxVerdicts {
                let entry = base + f.position
                verdicts.append(
                    CandidateVerdict(
                        pool: entry.pointee.descriptor.id, inventoryEpoch: entry.pointee.epoch,
                        inventorySequence: entry.pointee.sequence,
                        inventoryAge: now.since(entry.pointee.issuedAt), outcome: .filtered(f.reason, detail: detail(f.code))))
            }
            let explanation = Explanation(
                requestID: request.requestID, decidedBy: decidedBy, decidedAt: now, path: path,
                consideredCount: UInt32(positions.count), filteredCount: filteredCount, scoredCount: UInt32(ranked.count),
                verdicts: verdicts, chosen: nil)
            return Decision(ranked: ranked, explanation: explanation)
        }
    }

    /// Judges one candidate in place (through a pointer into the view, so nothing is copied):
    /// the filter that rejects it and a detail code, or its score and the accelerator group it
    /// would use (-1 for none).
    @inline(__always)
    static func evaluate(
        _ entry: UnsafePointer<ViewEntry>, request: borrowing PlacementRequest, demand: borrowing Demand,
        constraints c: borrowing Constraints, now: MeshInstant, region: Region, config: PlacementConfig
    ) -> (FilterReason?, Int, ScoreVector, Int) {
        let none = ScoreVector(price: 0, latency: 0, green: 0, total: 0)
        if !entry.pointee.isLive { return (.stale, 0, none, -1) }
        if now > entry.pointee.validUntil { return (.stale, 1, none, -1) }
        switch entry.pointee.descriptor.policy {
        case .acceptAll: break
        default:
            if !entry.pointee.descriptor.policy.accepts(sector: request.sector, tenant: request.tenant, region: region) {
                return (.policy, 2, none, -1)
            }
        }
        if !c.residency.isEmpty && !c.residency.contains(entry.pointee.descriptor.residency) { return (.residency, 3, none, -1) }
        for certification in c.certifications {
            var found = false
            for held in entry.pointee.descriptor.certifications where held == certification {
                found = true
                break
            }
            if !found { return (.certification, 4, none, -1) }
        }
        if !c.architectures.isEmpty && !c.architectures.contains(entry.pointee.descriptor.architecture) {
            return (.architecture, 5, none, -1)
        }
        var group = -1
        if let accelerator = demand.accelerator {
            var classFound = false
            var bigEnough = false
            let groups = entry.pointee.descriptor.accelerators
            let free = entry.pointee.availability.freeAccelerators
            for index in groups.indices where accelerator.matches(groups[index]) {
                classFound = true
                if groups[index].count >= demand.acceleratorCount {
                    bigEnough = true
                    if index < free.count && free[index] >= demand.acceleratorCount {
                        group = index
                        break
                    }
                }
            }
            if !classFound { return (.acceleratorClass, 6, none, -1) }
            if !bigEnough { return (.acceleratorClass, 7, none, -1) }
            if group < 0 { return (.capacity, 8, none, -1) }
        }
        if let maxPrice = c.maxPricePerUnitHour, entry.pointee.availability.pricePerUnitHour > maxPrice {
            return (.price, 9, none, -1)
        }
        if let maxLatency = c.maxLatency, entry.pointee.latency > maxLatency { return (.latency, 10, none, -1) }
        if entry.pointee.availability.freeComputeUnits < demand.computeUnits
            || entry.pointee.availability.freeMemoryMiB < demand.memoryMiB
        {
            return (.capacity, 11, none, -1)
        }
        return (nil, 0, scoreVector(entry.pointee, request: request, config: config), group)
    }

    /// Scores in parts per million: cheaper, closer and greener is better; `total` is the weighted
    /// mean by the request's weights (equal weights when all are zero).
    public static func scoreVector(
        _ entry: borrowing ViewEntry, request: borrowing PlacementRequest, config: PlacementConfig
    ) -> ScoreVector {
        let million: UInt64 = 1_000_000
        let priceRef = max(1, (request.constraints.maxPricePerUnitHour ?? config.referencePricePerUnitHour).microYuan)
        let price = entry.availability.pricePerUnitHour.microYuan
        let priceScore = price >= priceRef ? 0 : (priceRef - price) * million / priceRef
        let latencyRef = max(1, request.constraints.maxLatency?.milliseconds ?? config.referenceLatencyMilliseconds)
        let latency = entry.latency.milliseconds
        let latencyScore = latency >= latencyRef ? 0 : (latencyRef - latency) * million / latencyRef
        let greenScore = UInt64(min(entry.descriptor.greenEnergyPermille, 1000)) * 1000
        var wp = UInt64(request.weights.price)
        var wl = UInt64(request.weights.latency)
        var wg = UInt64(request.weights.green)
        if wp + wl + wg == 0 { (wp, wl, wg) = (1, 1, 1) }
        let total = (wp * priceScore + wl * latencyScore + wg * greenScore) / (wp + wl + wg)
        return ScoreVector(
            price: UInt32(priceScore), latency: UInt32(latencyScore), green: UInt32(greenScore), total: UInt32(total))
    }

    /// The detail text of a filter verdict: fixed text, so that keeping hundreds of verdicts per
    /// decision costs no formatting (the verdict's inventory version identifies the figures used).
    static func detail(_ code: Int) -> String {
        switch code {
        case 0: "the pool was withdrawn"
        case 1: "inventory past its valid-until"
        case 2: "the pool's policy refuses this sector, tenant or region"
        case 3: "pool outside the residency regions asked for"
        case 4: "pool lacks a certification asked for"
        case 5: "pool architecture not among those asked for"
        case 6: "pool has no accelerators of the class asked for"
        case 7: "pool has fewer accelerators of the class than asked for"
        case 8: "too few accelerators of the class free"
        case 9: "price above the maximum asked for"
        case 10: "latency to the owner above the maximum asked for"
        case 11: "too few compute units or too little memory free"
        default: "filtered"
        }
    }
}
