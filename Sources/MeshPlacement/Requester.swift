public import MeshCore

/// Where an outcome goes: the local tenant who placed the request, or the node that forwarded it.
public enum OutcomeDestination: Hashable, Sendable {
    case tenant
    case node(NodeID)
}

/// What the requester side asks its shell to do.
public enum RequesterDirective: Hashable, Sendable {
    /// Send a placement message to a node.
    case send(to: NodeID, PlacementMessage)
    /// Hand the final outcome of a request to whoever asked.
    case deliver(Outcome, to: OutcomeDestination)
    /// Call ``PlacementRequester/onTick(now:)`` at this instant.
    case scheduleTick(at: MeshInstant)
}

/// The requester side of placement on one node: validates requests, keeps the idempotency window,
/// filters and scores candidates from the node's view, asks the owners of the top k for firm
/// quotes in parallel, picks deterministically, confirms one and releases the rest, and spills a
/// request it cannot serve over to peer nodes (hop limit, loop prevention, origin lock).
///
/// A spread demand is split into the fewest equal parts (at most `maxPools`) that the view can
/// place on distinct owners; each round asks for every missing part in parallel, and the parts are
/// confirmed all or nothing: if any part fails, every part (held or already leased) is given back
/// and the request spills over or is refused, so no partial lease is left.
///
/// A node serving a request spilled over from another region asks only owners whose figures are
/// fresh or show spare room (``PlacementConfig/spilloverFreshMilliseconds``): at saturation, blind
/// spillover mostly moves placements between regions at the cost of failed quote rounds.
///
/// Safety does not rest on the view: only owners commit, each on its own ledger. The requester
/// guarantees that one request commits at most once: a quote or lease that arrives for a request no
/// longer waiting for it is released at once (the origin lock).
public struct PlacementRequester: Sendable {
    public let node: NodeID
    /// The node's region, which pool policies may name.
    public let region: Region
    public let config: PlacementConfig
    /// The node's freshness-bounded view of pools.
    public var view: PoolView
    /// Peer nodes a request may spill over to, sorted.
    public private(set) var spilloverPeers: [NodeID] = []
    public private(set) var explanations: ExplanationLog

    struct IdempotencyKey: Hashable, Sendable {
        var origin: NodeID
        var tenant: TenantID
        var key: String
    }

    enum IdempotencyState: Sendable {
        case inFlight(RequestID)
        case done(Outcome)
    }

    struct IdempotencyEntry: Sendable {
        var content: RequestContent
        var state: IdempotencyState
        var expiresAt: MeshInstant
    }

    enum Phase: Sendable {
        case quoting
        /// Every part holds a firm quote; CONFIRMs are out for all of them.
        case confirming
        case forwarding(NodeID)
    }

    /// A quote request in flight: the pool asked and the part it was asked for.
    struct Asked: Sendable {
        var pool: ComputeID
        var part: Int
    }

    /// A firm quote received in the current round, for one part.
    struct PartQuote: Sendable {
        var part: Int
        var offer: Quote
        var score: UInt32
    }

    struct Pending: Sendable {
        var request: PlacementRequest
        var replyTo: [OutcomeDestination]
        var path: [NodeID]
        var hopsLeft: UInt8
        var ranked: [RankedCandidate] = []
        var nextRank = 0
        var rounds = 0
        /// The demand of each part, each for one pool: one part for a gang, up to `maxPools` for
        /// a spread demand (see ``PlacementRequester/split(_:into:)``).
        var parts: [Demand] = []
        /// The firm quote kept for each part (from this or an earlier round); nil while missing.
        var held: [Quote?] = []
        /// The lease confirmed for each part, while confirming.
        var leased: [Lease?] = []
        var awaiting: [Asked] = []
        /// This round's quotes, not yet assigned to a part.
        var quotes: [PartQuote] = []
        var phase: Phase = .quoting
        var explanation: Explanation
        var timerAt: MeshInstant
        var forwardTries = 0
        var lastRefusal: RequestRejection? = nil
        /// The view version each quote received was debited against, by hold, so that a hold given
        /// back can be credited back while those figures are still in view.
        var debited: [HoldID: ViewVersion] = [:]

        var isSpread: Bool { parts.count > 1 }
    }

    private var pending: [RequestID: Pending] = [:]
    private var idempotency: [IdempotencyKey: IdempotencyEntry] = [:]
    private var idempotencyExpiries: [(MeshInstant, IdempotencyKey)] = []
    private var idempotencyExpiriesStart = 0
    /// Wake-ups, sorted by (instant, request); stale ones are skipped when they fire.
    private var wakeups: [(MeshInstant, RequestID)] = []
    private var announcedTick: MeshInstant? = nil

    /// Counters for tests, metrics and the simulator's oracle.
    public struct Counters: Hashable, Sendable {
        public var requests = 0
        public var placed = 0
        public var refused = 0
        public var quoteRounds = 0
        /// Quote rounds run by requests that ended placed.
        public var quoteRoundsOfPlaced = 0
        public var quotesAsked = 0
        public var confirmsSent = 0
        public var forwardsSent = 0
        public var lateReleases = 0
        /// Ranked candidates not asked for a quote because, by the time of the round, the view
        /// (healed by owners' refusals, debited by quotes received) showed they had no room.
        public var candidatesSkipped = 0
        /// Candidates not asked for a spilled request because their figures were neither fresh nor
        /// showed spare room (``PlacementConfig/spilloverFreshMilliseconds``).
        public var spilloverCandidatesSkipped = 0
        /// Requests placed as a spread demand over more than one pool.
        public var spreadPlaced = 0
        /// Spread requests whose parts were all given back because one part failed.
        public var spreadRolledBack = 0
    }
    public private(set) var counters = Counters()

    public init(node: NodeID, region: Region, config: PlacementConfig = PlacementConfig(), view: PoolView = PoolView()) {
        self.node = node
        self.region = region
        self.config = config
        self.view = view
        self.explanations = ExplanationLog(capacity: config.maxExplanations)
    }

    /// Sets the peers a request may spill over to.
    public mutating func setSpilloverPeers(_ peers: [NodeID]) {
        spilloverPeers = Array(Set(peers.filter { $0 != node })).sorted()
    }

    /// Requests in flight.
    public var inFlightCount: Int { pending.count }

    // MARK: - Inputs

    /// PLACE from a local tenant.
    public mutating func onPlace(_ request: PlacementRequest, now: MeshInstant, rng: inout SeededRandom) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        admit(request, path: [node], hopsLeft: config.forwardHopLimit, replyTo: .tenant, now: now, out: &out)
        return finish(out, now: now)
    }

    /// FORWARD from another node: serve the request here, or spill it further.
    public mutating func onForward(
        _ ask: Forward, from sender: NodeID, now: MeshInstant, rng: inout SeededRandom
    )
        -> [RequesterDirective]
    {
        var out: [RequesterDirective] = []
        if ask.path.contains(node) {
            refuseAtOnce(
                ask.request, .loopDetected, "node \(node.short) is already on the path", path: ask.path, to: .node(sender),
                out: &out)
        } else if ask.hopLimit == 0 || ask.path.count > Int(PlacementConfig.hopLimitCeiling) + 1 {
            refuseAtOnce(
                ask.request, .hopLimitReached, "the request has no hops left", path: ask.path, to: .node(sender), out: &out)
        } else if pending[ask.request.requestID] != nil {
            // A duplicate of a forward already being served: its one outcome answers both.
            pending[ask.request.requestID]!.replyTo.append(.node(sender))
        } else {
            admit(
                ask.request, path: ask.path + [node], hopsLeft: min(ask.hopLimit, PlacementConfig.hopLimitCeiling) - 1,
                replyTo: .node(sender), now: now, out: &out)
        }
        return finish(out, now: now)
    }

    /// An answer from another node: QUOTE, REFUSE, CONFIRMED, LEASE_STATE or OUTCOME.
    public mutating func onMessage(_ message: PlacementMessage, from sender: NodeID, now: MeshInstant) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        switch message {
        case .quote(let offer): onQuote(offer, from: sender, now: now, out: &out)
        case .refuse(let refusal): onRefusal(refusal, from: sender, now: now, out: &out)
        case .confirmed(let confirmed): onConfirmed(confirmed, from: sender, now: now, out: &out)
        case .outcome(let outcome): onOutcome(outcome, from: sender, now: now, out: &out)
        case .leaseState: break  // the answer to a RELEASE: nothing waits for it
        case .quoteRequest, .confirm, .release, .renew, .forward:
            preconditionFailure("owner-side message \(message) routed to the requester")
        }
        return finish(out, now: now)
    }

    /// Timers: quote rounds, confirmations and forwards that took too long, deadlines.
    public mutating func onTick(now: MeshInstant) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        var due: [(MeshInstant, RequestID)] = []
        var cut = 0
        while cut < wakeups.count && wakeups[cut].0 <= now { cut += 1 }
        due = Array(wakeups[0..<cut])
        wakeups.removeFirst(cut)
        announcedTick = nil
        for (at, requestID) in due {
            guard let p = pending[requestID], p.timerAt == at else { continue }
            switch p.phase {
            case .quoting:
                if now >= p.request.deadline {
                    releaseQuotes(p.quotes.map(\.offer), out: &out)
                    releaseHeld(requestID, out: &out)
                    complete(
                        requestID, .refused(.deadlineExpired, message: "the deadline passed while quoting"), now: now, out: &out)
                } else {
                    pending[requestID]!.awaiting = []
                    concludeRound(requestID, now: now, out: &out)
                }
            case .confirming:
                // No CONFIRMED in time: give every hold (or the lease it may have become) back.
                let late = p.held.indices.filter { p.leased[$0] == nil }.map { p.held[$0]!.pool.owner.short }
                for part in p.held.indices where p.leased[part] == nil {
                    out.append(.send(to: p.held[part]!.pool.owner, .release(Release(reservation: .hold(p.held[part]!.holdID)))))
                }
                for case let lease? in p.leased {
                    out.append(.send(to: lease.pool.owner, .release(Release(reservation: .lease(lease.leaseID)))))
                }
                if p.isSpread { counters.spreadRolledBack += 1 }
                complete(
                    requestID,
                    .refused(.overloaded, message: "owner \(late.joined(separator: ", ")) did not confirm in time"),
                    now: now,
                    out: &out)
            case .forwarding(let peer):
                pending[requestID]!.lastRefusal = RequestRejection(.overloaded, "peer \(peer.short) did not answer in time")
                spillOrRefuse(requestID, now: now, out: &out)
            }
        }
        return finish(out, now: now)
    }

    // MARK: - Admission

    private mutating func admit(
        _ request: PlacementRequest, path: [NodeID], hopsLeft: UInt8, replyTo: OutcomeDestination, now: MeshInstant,
        out: inout [RequesterDirective]
    ) {
        counters.requests += 1
        purgeIdempotency(now: now)
        if let rejection = RequestValidation.check(request, now: now, config: config) {
            refuseAtOnce(request, rejection.reason, rejection.message, path: path, to: replyTo, out: &out)
            return
        }
        let key = IdempotencyKey(origin: request.origin, tenant: request.tenant, key: request.idempotencyKey)
        let content = RequestContent(request)
        if let entry = idempotency[key] {
            if entry.content != content {
                refuseAtOnce(
                    request, .idempotencyConflict,
                    "idempotency key \"\(request.idempotencyKey)\" was used for a different request", path: path, to: replyTo,
                    out: &out)
                return
            }
            switch entry.state {
            case .done(let outcome):
                out.append(.deliver(outcome, to: replyTo))
            case .inFlight(let original):
                pending[original]?.replyTo.append(replyTo)
            }
            return
        }
        if idempotency.count >= config.maxIdempotencyKeys || pending.count >= config.maxInFlight {
            refuseAtOnce(request, .overloaded, "too many requests in flight", path: path, to: replyTo, out: &out)
            return
        }
        idempotency[key] = IdempotencyEntry(content: content, state: .inFlight(request.requestID), expiresAt: .zero)
        let plan = Self.plan(request, view: view, now: now, decidedBy: node, region: region, path: path, config: config)
        pending[request.requestID] = Pending(
            request: request, replyTo: [replyTo], path: path, hopsLeft: hopsLeft, ranked: plan.decision.ranked,
            parts: plan.parts, held: plan.parts.map { _ in nil }, explanation: plan.decision.explanation, timerAt: now)
        if let rejection = plan.rejection {
            // The view proves no pool (or, for a spread, no set of pools) can take the demand:
            // spill over or refuse without asking any owner, i.e. without a quote round.
            pending[request.requestID]!.lastRefusal = rejection
            spillOrRefuse(request.requestID, now: now, out: &out)
        } else {
            startRound(request.requestID, now: now, out: &out)
        }
    }

    /// How a request will be served: its parts (one for a gang; for a spread, the fewest equal
    /// shares, at most `maxPools`, for which the view has that many candidates on distinct owners)
    /// and the decision that ranked the candidates for one part. A rejection means the view
    /// proves nothing fits, so no owner is asked.
    struct Plan {
        var parts: [Demand]
        var decision: Decision
        var rejection: RequestRejection?
    }

    static func plan(
        _ request: PlacementRequest, view: PoolView, now: MeshInstant, decidedBy: NodeID, region: Region, path: [NodeID],
        config: PlacementConfig
    ) -> Plan {
        let demand = request.demand
        if demand.mode == .gang || demand.maxPools <= 1 {
            var single = demand
            single.mode = .gang
            single.maxPools = 1
            var share = request
            share.demand = single
            let decision = CandidateEvaluation.decide(
                share, view: view, now: now, decidedBy: decidedBy, region: region, path: path, config: config)
            let rejection =
                decision.ranked.isEmpty
                ? RequestRejection(
                    .noCandidates, "no pool in view passed the filters (\(decision.explanation.consideredCount) considered)")
                : nil
            return Plan(parts: [single], decision: decision, rejection: rejection)
        }
        // A spread: each part must be non-empty (an accelerator demand gives each part at least one
        // accelerator), and parts go to distinct owner nodes, because an owner keeps one lease per
        // (tenant, idempotency key) and CONFIRM carries no part number.
        let divisible = demand.acceleratorCount > 0 ? UInt64(demand.acceleratorCount) : demand.computeUnits
        let most = Int(min(UInt64(min(demand.maxPools, config.maxSpreadPools)), max(1, divisible)))
        var last: (parts: [Demand], decision: Decision)? = nil
        for count in 1...most {
            let parts = split(demand, into: count)
            var share = request
            share.demand = parts[0]  // the largest share: every candidate has room for any part
            let decision = CandidateEvaluation.decide(
                share, view: view, now: now, decidedBy: decidedBy, region: region, path: path, config: config)
            var owners: [NodeID] = []
            for candidate in decision.ranked where !owners.contains(candidate.pool.owner) {
                owners.append(candidate.pool.owner)
                if owners.count >= count { break }
            }
            if owners.count >= count { return Plan(parts: parts, decision: decision, rejection: nil) }
            last = (parts, decision)
        }
        let (parts, decision) = last!
        return Plan(
            parts: parts, decision: decision,
            rejection: RequestRejection(
                .noCandidates,
                "no \(parts.count) pools on distinct owners in view could each take a share of the spread demand (\(decision.ranked.count) of \(decision.explanation.consideredCount) could)"
            ))
    }

    /// Splits a demand into `count` gang parts whose quantities differ by at most one and sum to
    /// the demand's; earlier parts are the larger. Deterministic.
    public static func split(_ demand: Demand, into count: Int) -> [Demand] {
        precondition(count >= 1, "splitting into \(count) parts")
        let n = UInt64(count)
        func share<T: FixedWidthInteger>(_ total: T, _ index: Int) -> T {
            let base = UInt64(total) / n
            let extra = UInt64(index) < UInt64(total) % n ? 1 : 0
            return T(base + UInt64(extra))
        }
        return (0..<count).map { index in
            Demand(
                accelerator: demand.accelerator, acceleratorCount: share(demand.acceleratorCount, index),
                computeUnits: share(demand.computeUnits, index), memoryMiB: share(demand.memoryMiB, index), mode: .gang,
                maxPools: 1)
        }
    }

    // MARK: - Quote rounds

    /// Starts a quote round: asks up to `quoteFanOut` candidates per missing part (the best-ranked
    /// first), each for one part, in parallel. Candidates the view now shows without room are
    /// skipped (and marked filtered in the explanation); when too few are left, the request gives
    /// up here without asking anyone.
    private mutating func startRound(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        let missing = p.held.indices.filter { p.held[$0] == nil }
        precondition(!missing.isEmpty, "a quote round for \(requestID) with every part held")
        // A spread keeps one part per owner (see `plan`): owners already holding a part are out.
        var owners: [NodeID] = p.isSpread ? p.held.compactMap { $0?.pool.owner } : []
        let want = missing.count * config.quoteFanOut
        // A request spilled over from elsewhere is served only on confident figures.
        let spilled = p.path.count > 1
        let spillFresh = MeshDuration(milliseconds: config.spilloverFreshMilliseconds)
        var picked: [(candidate: RankedCandidate, part: Int)] = []
        var rank = p.nextRank
        while rank < p.ranked.count && picked.count < want {
            let candidate = p.ranked[rank]
            rank += 1
            if p.isSpread && owners.contains(candidate.pool.owner) { continue }
            let part = missing[picked.count % missing.count]
            if !view.hasRoom(pool: candidate.pool, for: p.parts[part], group: candidate.acceleratorGroup, now: now) {
                counters.candidatesSkipped += 1
                Self.markFiltered(
                    &p.explanation, pool: candidate.pool, reason: .capacity,
                    message: "skipped: the owner's latest figures show too little room")
                continue
            }
            if spilled
                && !view.isConfident(
                    pool: candidate.pool, for: p.parts[part], group: candidate.acceleratorGroup, now: now,
                    freshWithin: spillFresh, sparePermille: config.spilloverSpareRoomPermille)
            {
                counters.spilloverCandidatesSkipped += 1
                Self.markFiltered(
                    &p.explanation, pool: candidate.pool, reason: .capacity,
                    message: "skipped for a spilled request: figures neither fresh nor with spare room")
                continue
            }
            picked.append((candidate, part))
            if p.isSpread { owners.append(candidate.pool.owner) }
        }
        p.nextRank = rank
        if picked.isEmpty || (picked.count < missing.count && rank >= p.ranked.count) {
            if p.lastRefusal == nil {
                p.lastRefusal = RequestRejection(
                    .insufficientCapacity, "the owners' latest figures leave no candidate with room (\(rank) ranked)")
            }
            pending[requestID] = p
            giveUp(requestID, now: now, out: &out)
            return
        }
        p.rounds += 1
        counters.quoteRounds += 1
        p.phase = .quoting
        p.quotes = []
        p.awaiting = []
        let holdFor = MeshDuration(milliseconds: config.holdTTLMilliseconds)
        for (candidate, part) in picked {
            p.awaiting.append(Asked(pool: candidate.pool, part: part))
            counters.quotesAsked += 1
            let ask = QuoteRequest(
                requestID: requestID, requester: node, pool: candidate.pool, tenant: p.request.tenant, sector: p.request.sector,
                demand: p.parts[part], holdFor: holdFor, deadline: p.request.deadline)
            out.append(.send(to: candidate.pool.owner, .quoteRequest(ask)))
        }
        p.timerAt = min(now + MeshDuration(milliseconds: config.quoteTimeoutMilliseconds), p.request.deadline)
        pending[requestID] = p
        wake(requestID, at: p.timerAt)
    }

    private mutating func onQuote(_ offer: Quote, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        guard var p = pending[offer.requestID], case .quoting = p.phase,
            let index = p.awaiting.firstIndex(where: { $0.pool == offer.pool }), offer.pool.owner == sender
        else {
            // Late or unexpected: nobody will confirm it, so give it back now.
            counters.lateReleases += 1
            out.append(.send(to: sender, .release(Release(reservation: .hold(offer.holdID)))))
            return
        }
        let part = p.awaiting.remove(at: index).part
        let candidate = p.ranked.first { $0.pool == offer.pool }
        p.quotes.append(PartQuote(part: part, offer: offer, score: candidate?.score.total ?? 0))
        let group = candidate?.acceleratorGroup
        if let version = view.version(of: offer.pool) { p.debited[offer.holdID] = version }
        view.debit(
            pool: offer.pool, computeUnits: offer.computeUnits, memoryMiB: offer.memoryMiB,
            acceleratorCount: offer.acceleratorCount,
            group: group)
        pending[offer.requestID] = p
        if p.awaiting.isEmpty { concludeRound(offer.requestID, now: now, out: &out) }
    }

    private mutating func onRefusal(_ refusal: Refuse, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        if let fresh = refusal.freshAvailability, fresh.id.owner == sender { view.heal(fresh, now: now) }
        guard var p = pending[refusal.requestID] else { return }
        switch p.phase {
        case .quoting:
            guard let pool = refusal.pool, pool.owner == sender, let index = p.awaiting.firstIndex(where: { $0.pool == pool })
            else { return }
            p.awaiting.remove(at: index)
            p.lastRefusal = RequestRejection(refusal.reason, refusal.message)
            Self.markRefused(&p.explanation, pool: pool, message: "\(refusal.reason): \(refusal.message)")
            pending[refusal.requestID] = p
            if p.awaiting.isEmpty { concludeRound(refusal.requestID, now: now, out: &out) }
        case .confirming:
            guard let part = p.held.indices.first(where: { p.held[$0]?.pool.owner == sender && p.leased[$0] == nil }) else {
                return
            }
            let offer = p.held[part]!
            p.lastRefusal = RequestRejection(refusal.reason, refusal.message)
            Self.markRefused(&p.explanation, pool: offer.pool, message: "confirm refused: \(refusal.reason): \(refusal.message)")
            p.phase = .quoting
            if p.isSpread {
                // All or nothing: give back every other part, confirmed or not, and do not try
                // again here (a late CONFIRMED for a part given back is released on arrival).
                counters.spreadRolledBack += 1
                pending[refusal.requestID] = p
                releaseHeld(refusal.requestID, out: &out)
                spillOrRefuse(refusal.requestID, now: now, out: &out)
            } else {
                p.held[part] = nil
                p.leased = []
                pending[refusal.requestID] = p
                nextRoundOrGiveUp(refusal.requestID, now: now, out: &out)
            }
        case .forwarding(let peer):
            guard sender == peer else { return }
            p.lastRefusal = RequestRejection(refusal.reason, refusal.message)
            pending[refusal.requestID] = p
            spillOrRefuse(refusal.requestID, now: now, out: &out)
        }
    }

    /// Moves a scored candidate's verdict to filtered(ownerRefused), keeping the sum rule.
    static func markRefused(_ explanation: inout Explanation, pool: ComputeID, message: String) {
        markFiltered(&explanation, pool: pool, reason: .ownerRefused, message: message)
    }

    /// Moves a scored candidate's verdict to filtered(reason), keeping the sum rule.
    static func markFiltered(_ explanation: inout Explanation, pool: ComputeID, reason: FilterReason, message: String) {
        guard let index = explanation.verdicts.firstIndex(where: { $0.pool == pool }),
            case .scored = explanation.verdicts[index].outcome
        else { return }
        var detail = Substring(message)
        while detail.utf8.count > CandidateVerdict.maxDetailBytes { detail = detail.dropLast() }
        explanation.verdicts[index].outcome = .filtered(reason, detail: String(detail))
        explanation.scoredCount -= 1
        explanation.filteredCount += 1
    }

    /// Ends a quote round: each missing part keeps its best quote (deterministic: the candidate's
    /// score, then the firm price, then the pool ID); other quotes are released. When every part
    /// holds a quote, all are confirmed; otherwise another round asks for the missing parts.
    private mutating func concludeRound(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        let ordered = p.quotes.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.offer.pricePerUnitHour != b.offer.pricePerUnitHour {
                return a.offer.pricePerUnitHour < b.offer.pricePerUnitHour
            }
            return a.offer.pool < b.offer.pool
        }
        for quote in ordered {
            if p.held[quote.part] == nil {
                p.held[quote.part] = quote.offer
            } else {
                out.append(.send(to: quote.offer.pool.owner, .release(Release(reservation: .hold(quote.offer.holdID)))))
                creditBack(quote.offer, &p)
            }
        }
        p.quotes = []
        pending[requestID] = p
        if p.held.contains(where: { $0 == nil }) {
            nextRoundOrGiveUp(requestID, now: now, out: &out)
            return
        }
        p.phase = .confirming
        p.leased = p.parts.map { _ in nil }
        for offer in p.held {
            let offer = offer!
            counters.confirmsSent += 1
            out.append(
                .send(
                    to: offer.pool.owner,
                    .confirm(
                        Confirm(
                            requestID: requestID, holdID: offer.holdID, idempotencyKey: p.request.idempotencyKey,
                            leaseDuration: p.request.leaseDuration))))
        }
        p.timerAt = now + MeshDuration(milliseconds: config.confirmTimeoutMilliseconds)
        pending[requestID] = p
        wake(requestID, at: p.timerAt)
    }

    private mutating func nextRoundOrGiveUp(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        let p = pending[requestID]!
        if p.nextRank < p.ranked.count && p.rounds < config.maxQuoteRounds && now < p.request.deadline {
            startRound(requestID, now: now, out: &out)
        } else {
            giveUp(requestID, now: now, out: &out)
        }
    }

    /// No more rounds here: gives back any part already held and spills over or refuses.
    private mutating func giveUp(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        let p = pending[requestID]!
        if p.lastRefusal == nil || p.lastRefusal?.reason == .holdLapsed {
            pending[requestID]!.lastRefusal = RequestRejection(
                .insufficientCapacity, "no owner among \(p.nextRank) candidates could hold the capacity")
        }
        releaseHeld(requestID, out: &out)
        spillOrRefuse(requestID, now: now, out: &out)
    }

    /// Gives back every part held (a hold, or the lease it was confirmed into) and forgets them.
    private mutating func releaseHeld(_ requestID: RequestID, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        for (part, offer) in p.held.enumerated() {
            guard let offer else { continue }
            if part < p.leased.count, let lease = p.leased[part] {
                out.append(.send(to: lease.pool.owner, .release(Release(reservation: .lease(lease.leaseID)))))
            } else {
                out.append(.send(to: offer.pool.owner, .release(Release(reservation: .hold(offer.holdID)))))
            }
            creditBack(offer, &p)
        }
        p.held = p.parts.map { _ in nil }
        p.leased = []
        pending[requestID] = p
    }

    /// Credits the view back with a quote's capacity the node gives back (see ``PoolView/credit``).
    private mutating func creditBack(_ offer: Quote, _ p: inout Pending) {
        guard let version = p.debited.removeValue(forKey: offer.holdID) else { return }
        view.credit(
            pool: offer.pool, computeUnits: offer.computeUnits, memoryMiB: offer.memoryMiB,
            acceleratorCount: offer.acceleratorCount, group: p.ranked.first { $0.pool == offer.pool }?.acceleratorGroup,
            ifStill: version)
    }

    private mutating func onConfirmed(
        _ confirmed: Confirmed, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]
    ) {
        // The lease may come from another hold than the one confirmed: an owner answers a confirm
        // under a key that already has a lease with that lease.
        guard var p = pending[confirmed.requestID], case .confirming = p.phase,
            let part = p.held.indices.first(where: { p.held[$0]?.pool.owner == sender && p.leased[$0] == nil })
        else {
            // The origin lock: a lease nobody waits for is released at once.
            counters.lateReleases += 1
            out.append(.send(to: sender, .release(Release(reservation: .lease(confirmed.lease.leaseID)))))
            return
        }
        p.leased[part] = confirmed.lease
        pending[confirmed.requestID] = p
        if p.leased.contains(where: { $0 == nil }) { return }
        counters.quoteRoundsOfPlaced += p.rounds
        if p.isSpread { counters.spreadPlaced += 1 }
        complete(
            confirmed.requestID, .placed(p.leased.map { $0! }), chosen: p.held[0]!.pool, now: now, out: &out)
    }

    // MARK: - Spillover

    private mutating func spillOrRefuse(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        let candidates = spilloverPeers.filter { !p.path.contains($0) }
        // The origin tries up to three peers in turn; a node serving a forwarded request passes it
        // on at most once (a chain, not a tree), so one request costs at most a handful of hops.
        let isOrigin = p.path.count == 1
        let maxTries = isOrigin ? min(candidates.count, Int(PlacementConfig.hopLimitCeiling)) : min(candidates.count, 1)
        if p.hopsLeft > 0 && !candidates.isEmpty && p.forwardTries < maxTries && now < p.request.deadline {
            let start = Int(truncatingIfNeeded: UInt64(truncatingIfNeeded: requestID.value) % UInt64(candidates.count))
            let peer = candidates[(start + p.forwardTries) % candidates.count]
            p.forwardTries += 1
            p.phase = .forwarding(peer)
            p.timerAt = min(now + MeshDuration(milliseconds: config.forwardTimeoutMilliseconds), p.request.deadline)
            pending[requestID] = p
            counters.forwardsSent += 1
            out.append(.send(to: peer, .forward(Forward(request: p.request, hopLimit: p.hopsLeft, path: p.path))))
            wake(requestID, at: p.timerAt)
            return
        }
        let rejection = p.lastRefusal ?? RequestRejection(.noCandidates, "no pool could serve the request")
        complete(requestID, .refused(rejection.reason, message: rejection.message), now: now, out: &out)
    }

    private mutating func onOutcome(
        _ outcome: Outcome, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]
    ) {
        guard let p = pending[outcome.requestID], case .forwarding(let peer) = p.phase, peer == sender else {
            // The origin lock: leases made for a request that is no longer waiting are given back.
            if case .placed(let leases) = outcome.result {
                for lease in leases {
                    counters.lateReleases += 1
                    out.append(.send(to: lease.pool.owner, .release(Release(reservation: .lease(lease.leaseID)))))
                }
            }
            return
        }
        switch outcome.result {
        case .placed:
            counters.quoteRoundsOfPlaced += p.rounds
            complete(outcome.requestID, outcome.result, explanation: outcome.explanation, now: now, out: &out)
        case .refused(let reason, let message):
            pending[outcome.requestID]!.lastRefusal = RequestRejection(reason, message)
            spillOrRefuse(outcome.requestID, now: now, out: &out)
        }
    }

    // MARK: - Completion

    private mutating func complete(
        _ requestID: RequestID, _ result: PlacementResult, chosen: ComputeID? = nil, explanation: Explanation? = nil,
        now: MeshInstant, out: inout [RequesterDirective]
    ) {
        guard let p = pending.removeValue(forKey: requestID) else {
            preconditionFailure("completing unknown request \(requestID)")
        }
        var final = explanation ?? p.explanation
        if explanation == nil { final.chosen = chosen }
        if case .placed = result { counters.placed += 1 } else { counters.refused += 1 }
        let outcome = Outcome(
            requestID: requestID, idempotencyKey: p.request.idempotencyKey, result: result, explanation: final)
        explanations.record(final)
        let key = IdempotencyKey(origin: p.request.origin, tenant: p.request.tenant, key: p.request.idempotencyKey)
        let expiresAt = now + MeshDuration(milliseconds: config.idempotencyWindowMilliseconds)
        idempotency[key] = IdempotencyEntry(content: RequestContent(p.request), state: .done(outcome), expiresAt: expiresAt)
        idempotencyExpiries.append((expiresAt, key))
        for destination in p.replyTo { out.append(.deliver(outcome, to: destination)) }
    }

    private mutating func refuseAtOnce(
        _ request: PlacementRequest, _ reason: RefuseReason, _ message: String, path: [NodeID],
        to destination: OutcomeDestination,
        out: inout [RequesterDirective]
    ) {
        counters.refused += 1
        let explanation = Explanation(
            requestID: request.requestID, decidedBy: node, decidedAt: .zero, path: path, consideredCount: 0, filteredCount: 0,
            scoredCount: 0, verdicts: [], chosen: nil)
        let outcome = Outcome(
            requestID: request.requestID, idempotencyKey: request.idempotencyKey, result: .refused(reason, message: message),
            explanation: explanation)
        out.append(.deliver(outcome, to: destination))
    }

    private func releaseQuotes(_ quotes: [Quote], out: inout [RequesterDirective]) {
        for quote in quotes { out.append(.send(to: quote.pool.owner, .release(Release(reservation: .hold(quote.holdID))))) }
    }

    private mutating func purgeIdempotency(now: MeshInstant) {
        while idempotencyExpiriesStart < idempotencyExpiries.count && idempotencyExpiries[idempotencyExpiriesStart].0 <= now {
            let (at, key) = idempotencyExpiries[idempotencyExpiriesStart]
            idempotencyExpiriesStart += 1
            if let entry = idempotency[key], case .done = entry.state, entry.expiresAt == at { idempotency[key] = nil }
        }
        if idempotencyExpiriesStart > 1024 && idempotencyExpiriesStart * 2 > idempotencyExpiries.count {
            idempotencyExpiries.removeFirst(idempotencyExpiriesStart)
            idempotencyExpiriesStart = 0
        }
    }

    private mutating func wake(_ requestID: RequestID, at instant: MeshInstant) {
        var low = 0
        var high = wakeups.count
        while low < high {
            let mid = (low + high) / 2
            if (wakeups[mid].0, wakeups[mid].1) < (instant, requestID) { low = mid + 1 } else { high = mid }
        }
        wakeups.insert((instant, requestID), at: low)
    }

    private mutating func finish(_ out: [RequesterDirective], now: MeshInstant) -> [RequesterDirective] {
        var directives = out
        if let first = wakeups.first?.0, first != announcedTick {
            announcedTick = first
            directives.append(.scheduleTick(at: first))
        }
        return directives
    }
}
