public import MeshCore

// The requester's way to a placement: admission (validation and the idempotency window), the plan
// of parts, quote rounds, and confirmation.
extension PlacementRequester {
    // MARK: - Admission

    mutating func admit(
        _ request: PlacementRequest, path: [NodeID], hopsLeft: UInt8, replyTo: OutcomeDestination, now: MeshInstant,
        out: inout [RequesterDirective]
    ) {
        counters.requests += 1
        purgeIdempotency(now: now)
        if let rejection = RequestValidation.check(request, now: now, config: config) {
            refuseAtOnce(request, rejection.reason, rejection.message, path: path, to: replyTo, now: now, out: &out)
            return
        }
        let key = IdempotencyKey(tenant: request.tenant, key: request.idempotencyKey)
        let content = RequestContent(request)
        var resuming: InDoubt? = nil
        if let entry = idempotency[key] {
            if entry.content != content {
                refuseAtOnce(
                    request, .idempotencyConflict,
                    "idempotency key \"\(request.idempotencyKey)\" was used for a different request", path: path, to: replyTo,
                    now: now, out: &out)
                return
            }
            switch entry.state {
            case .done(var outcome, let path, let acknowledged):
                // The original outcome, answering this request.
                outcome.requestID = request.requestID
                if case .placed(let leases) = outcome.result, case .tenant = replyTo, !acknowledged {
                    // Placed for another node's tenant, never reported to a tenant here: the
                    // owners hear that it is held before this tenant does.
                    startAcknowledgingReplay(
                        request, outcome: outcome, leases: leases, path: path, replyTo: replyTo, now: now, out: &out)
                } else {
                    // A node asking learns whether a tenant was told: then its tenant is told
                    // without acknowledging again (the lease may have ended since, SPEC §6.6.12).
                    if case .node = replyTo { outcome.acknowledged = acknowledged && outcome.isPlaced }
                    out.append(.deliver(outcome, to: replyTo, path: path))
                }
                return
            case .inFlight(let original):
                pending[original]?.replyTo.append(Reply(destination: replyTo, requestID: request.requestID))
                return
            case .inDoubt(let doubt):
                resuming = doubt
                inDoubtByRequest[doubt.requestID] = nil
            }
        }
        if resuming == nil && (idempotency.count >= config.maxIdempotencyKeys || pending.count >= config.maxInFlight) {
            refuseAtOnce(request, .overloaded, "too many requests in flight", path: path, to: replyTo, now: now, out: &out)
            return
        }
        idempotency[key] = IdempotencyEntry(content: content, state: .inFlight(request.requestID), expiresAt: .zero)
        // A tenant's request is decided by its key's home: the one regional node of the region
        // every entry node agrees on, which alone remembers the key (SPEC §6.6.12). Without
        // candidates (no regional node known) the node decides itself.
        if case .tenant = replyTo, !resumesHere(resuming), let home = home(of: request), home != node {
            if resuming != nil { counters.resumed += 1 }
            pending[request.requestID] = Pending(
                request: request, replyTo: [Reply(destination: replyTo, requestID: request.requestID)], path: path,
                hopsLeft: hopsLeft, parts: [request.demand], held: [nil],
                explanation: Explanation(
                    requestID: request.requestID, decidedBy: home, decidedAt: now, path: path, consideredCount: 0,
                    filteredCount: 0, scoredCount: 0, verdicts: [], chosen: nil), timerAt: now, homed: true)
            forward(request.requestID, to: home, now: now, out: &out)
            return
        }
        let plan = Self.plan(request, view: view, now: now, decidedBy: node, region: region, path: path, config: config)
        var p = Pending(
            request: request, replyTo: [Reply(destination: replyTo, requestID: request.requestID)], path: path,
            hopsLeft: hopsLeft,
            ranked: plan.decision.ranked,
            parts: plan.parts, held: plan.parts.map { _ in nil }, explanation: plan.decision.explanation, timerAt: now)
        if let doubt = resuming {
            counters.resumed += 1
            resume(&p, from: doubt, now: now, out: &out)
            return
        }
        pending[request.requestID] = p
        if let rejection = plan.rejection {
            // The view proves no pool (or, for a spread, no set of pools) can take the demand:
            // spill over or refuse without asking any owner, i.e. without a quote round.
            pending[request.requestID]!.lastRefusal = rejection
            spillOrRefuse(request.requestID, now: now, out: &out)
        } else {
            startRound(request.requestID, now: now, out: &out)
        }
    }

    /// Whether what a request in doubt left is finished here (leases to acknowledge, holds to
    /// confirm again) rather than at the key's home.
    func resumesHere(_ doubt: InDoubt?) -> Bool {
        guard let doubt else { return false }
        let complete = !doubt.leased.isEmpty && doubt.leased.allSatisfy { $0 != nil }
        let allHeld = !doubt.held.isEmpty && doubt.held.allSatisfy { $0 != nil }
        return complete || allHeld
    }

    /// A key's home: by rendezvous hashing of the tenant and key over the region's regional nodes,
    /// so that every entry node of the region picks the same one while they agree on who is there.
    func home(of request: PlacementRequest) -> NodeID? {
        let key = Self.keyHash(request)
        var best: (score: UInt64, node: NodeID)? = nil
        for candidate in homeCandidates {
            var x = key ^ candidate.w0 ^ (candidate.w1 &* 0x9E37_79B9_7F4A_7C15)
            // splitmix64's finaliser: every bit of the pair moves the score.
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            x ^= x >> 31
            if best == nil || x > best!.score || (x == best!.score && candidate < best!.node) { best = (x, candidate) }
        }
        return best?.node
    }

    /// A retry of a request in doubt finishes what the first attempt started: it acknowledges
    /// leases already reported, confirms holds again (an owner returns the lease it committed), or
    /// asks the silent peer again; whatever then fails falls back to the fresh plan in `p`.
    mutating func resume(_ p: inout Pending, from doubt: InDoubt, now: MeshInstant, out: inout [RequesterDirective]) {
        let requestID = p.request.requestID
        let planParts = p.parts
        let complete = !doubt.leased.isEmpty && doubt.leased.allSatisfy { $0 != nil }
        let allHeld = !doubt.held.isEmpty && doubt.held.allSatisfy { $0 != nil }
        if complete || allHeld {
            p.parts = doubt.parts
            p.held = doubt.held
            p.leased = doubt.leased.count == doubt.parts.count ? doubt.leased : doubt.parts.map { _ in nil }
            p.leasePath = doubt.leasePath
            pending[requestID] = p
            if complete {
                placed(requestID, now: now, out: &out)
            } else {
                pending[requestID]!.phase = .confirming
                sendConfirms(requestID, repeated: true, now: now, out: &out)
            }
            return
        }
        if doubt.held.contains(where: { $0 != nil }) {
            // Some part was never held: give the others back and start over.
            p.parts = doubt.parts
            p.held = doubt.held
            p.leased = doubt.leased
            p.leasePath = doubt.leasePath
            pending[requestID] = p
            releaseHeld(requestID, out: &out)
            pending[requestID]!.parts = planParts
            pending[requestID]!.held = planParts.map { _ in nil }
        } else {
            pending[requestID] = p
        }
        if let peer = doubt.forwardedTo, p.hopsLeft > 0 {
            forward(requestID, to: peer, now: now, out: &out)
        } else if pending[requestID]!.ranked.isEmpty {
            pending[requestID]!.lastRefusal = RequestRejection(.noCandidates, "no pool in view passed the filters")
            spillOrRefuse(requestID, now: now, out: &out)
        } else {
            startRound(requestID, now: now, out: &out)
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
    /// first), each for one part, in parallel. Candidates the view now shows without room, and
    /// candidates whose owner is unreachable, are skipped (and marked filtered in the
    /// explanation); when too few are left, the request gives up here without asking anyone.
    mutating func startRound(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
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
        var unreachable = 0
        let firstRank = p.nextRank
        var rank = p.nextRank
        while rank < p.ranked.count && picked.count < want {
            let candidate = p.ranked[rank]
            rank += 1
            if p.isSpread && owners.contains(candidate.pool.owner) { continue }
            let part = missing[picked.count % missing.count]
            if isUnreachable(candidate.pool.owner, now: now) {
                counters.unreachableSkipped += 1
                unreachable += 1
                Self.markFiltered(
                    &p.explanation, pool: candidate.pool, reason: .unreachable,
                    message: "skipped: owner \(candidate.pool.owner.short) was unreachable moments ago")
                continue
            }
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
            if unreachable > 0 {
                // The pools of an unreachable owner may well have room: say what happened.
                let examined = rank - firstRank
                p.lastRefusal = RequestRejection(
                    .ownerUnreachable,
                    unreachable == examined
                        ? "the owners of the \(unreachable) candidates left could not be reached"
                        : "the owners of \(unreachable) of \(examined) candidates could not be reached; the others showed no room"
                )
            } else if p.lastRefusal == nil {
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

    mutating func onQuote(_ offer: Quote, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
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

    mutating func onRefusal(_ refusal: Refuse, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
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
        case .acknowledging:
            return
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
    mutating func concludeRound(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
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
        pending[requestID] = p
        sendConfirms(requestID, repeated: false, now: now, out: &out)
    }

    /// Sends CONFIRM for every part held but not yet leased, and waits for the answers.
    mutating func sendConfirms(_ requestID: RequestID, repeated: Bool, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        if p.leased.count != p.parts.count { p.leased = p.parts.map { _ in nil } }
        for part in p.held.indices where p.leased[part] == nil {
            let offer = p.held[part]!
            if repeated { counters.confirmsRepeated += 1 } else { counters.confirmsSent += 1 }
            out.append(
                .send(
                    to: offer.pool.owner,
                    .confirm(
                        Confirm(
                            requestID: requestID, holdID: offer.holdID, idempotencyKey: p.request.idempotencyKey,
                            leaseDuration: p.request.leaseDuration))))
        }
        p.timerAt = min(now + MeshDuration(milliseconds: config.confirmTimeoutMilliseconds), max(now, p.request.deadline))
        pending[requestID] = p
        wake(requestID, at: p.timerAt)
    }

    /// CONFIRMs out to an owner that became unreachable: whatever that owner committed is left to
    /// lapse (a hold) or to be abandoned unacknowledged (a lease), and the request moves on.
    mutating func abandonConfirms(
        _ requestID: RequestID, at owner: NodeID, parts: [Int], now: MeshInstant, out: inout [RequesterDirective]
    ) {
        var p = pending[requestID]!
        p.lastRefusal = RequestRejection(.ownerUnreachable, "owner \(owner.short) could not be reached to confirm")
        for part in parts {
            let offer = p.held[part]!
            Self.markFiltered(
                &p.explanation, pool: offer.pool, reason: .unreachable,
                message: "owner \(owner.short) unreachable while confirming")
            out.append(.send(to: owner, .release(Release(reservation: .hold(offer.holdID)))))
        }
        p.phase = .quoting
        if p.isSpread {
            counters.spreadRolledBack += 1
            pending[requestID] = p
            releaseHeld(requestID, out: &out)
            spillOrRefuse(requestID, now: now, out: &out)
        } else {
            for part in parts { p.held[part] = nil }
            p.leased = []
            pending[requestID] = p
            nextRoundOrGiveUp(requestID, now: now, out: &out)
        }
    }

    mutating func nextRoundOrGiveUp(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        let p = pending[requestID]!
        if p.nextRank < p.ranked.count && p.rounds < config.maxQuoteRounds && now < p.request.deadline {
            startRound(requestID, now: now, out: &out)
        } else {
            giveUp(requestID, now: now, out: &out)
        }
    }

    /// No more rounds here: gives back any part already held and spills over or refuses.
    mutating func giveUp(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        let p = pending[requestID]!
        if p.lastRefusal == nil || p.lastRefusal?.reason == .holdLapsed {
            pending[requestID]!.lastRefusal = RequestRejection(
                .insufficientCapacity, "no owner among \(p.nextRank) candidates could hold the capacity")
        }
        releaseHeld(requestID, out: &out)
        spillOrRefuse(requestID, now: now, out: &out)
    }

    /// Gives back every part held (a hold, or the lease it was confirmed into, through the peer
    /// that reported it) and forgets them.
    mutating func releaseHeld(_ requestID: RequestID, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        for part in 0..<max(p.held.count, p.leased.count) {
            if part < p.leased.count, let lease = p.leased[part] {
                let route = Self.route(for: lease, from: node, through: p.leasePath)
                out.append(
                    .send(
                        to: route.count > 1 ? route[1] : node, .release(Release(reservation: .lease(lease.leaseID), route: route))
                    ))
            } else if part < p.held.count, let offer = p.held[part] {
                out.append(.send(to: offer.pool.owner, .release(Release(reservation: .hold(offer.holdID)))))
            }
            if part < p.held.count, let offer = p.held[part] { creditBack(offer, &p) }
        }
        p.held = p.parts.map { _ in nil }
        p.leased = []
        p.leasePath = []
        pending[requestID] = p
    }

    /// Credits the view back with a quote's capacity the node gives back (see ``PoolView/credit``).
    mutating func creditBack(_ offer: Quote, _ p: inout Pending) {
        guard let version = p.debited.removeValue(forKey: offer.holdID) else { return }
        view.credit(
            pool: offer.pool, computeUnits: offer.computeUnits, memoryMiB: offer.memoryMiB,
            acceleratorCount: offer.acceleratorCount, group: p.ranked.first { $0.pool == offer.pool }?.acceleratorGroup,
            ifStill: version)
    }

    mutating func onConfirmed(_ confirmed: Confirmed, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        // The lease may come from another hold than the one confirmed: an owner answers a confirm
        // under a key that already has a lease with that lease.
        guard var p = pending[confirmed.requestID], case .confirming = p.phase,
            let part = p.held.indices.first(where: { p.held[$0]?.pool.owner == sender && p.leased[$0] == nil })
        else {
            // A lease nobody waits for: a request in doubt keeps it for a retry; otherwise it is left
            // unacknowledged, and its owner abandons it within the bound. It is not released: an
            // owner answers a CONFIRM under a key that already has a lease with that lease, so it
            // may be the one another attempt reported to the tenant.
            if !keepInDoubt(confirmed, from: sender) { counters.lateLeases += 1 }
            return
        }
        p.leased[part] = confirmed.lease
        pending[confirmed.requestID] = p
        if p.leased.contains(where: { $0 == nil }) { return }
        counters.quoteRoundsOfPlaced += p.rounds
        if p.isSpread { counters.spreadPlaced += 1 }
        pending[confirmed.requestID]!.explanation.chosen = p.held[0]!.pool
        placed(confirmed.requestID, now: now, out: &out)
    }

    /// A late CONFIRMED for a request in doubt is kept there: a retry reports it.
    mutating func keepInDoubt(_ confirmed: Confirmed, from sender: NodeID) -> Bool {
        guard let key = inDoubtByRequest[confirmed.requestID], var entry = idempotency[key],
            case .inDoubt(var doubt) = entry.state,
            let part = doubt.held.indices.first(where: { doubt.held[$0]?.pool.owner == sender && doubt.leased[$0] == nil })
        else { return false }
        doubt.leased[part] = confirmed.lease
        entry.state = .inDoubt(doubt)
        idempotency[key] = entry
        return true
    }
}
