import MeshCore
import Testing

@testable import MeshPlacement

@Suite("Placement requester")
struct RequesterTests {
    let a = Fixture.nodeID(1)
    let b = Fixture.nodeID(2)
    let c = Fixture.nodeID(3)

    func mesh(config: PlacementConfig = PlacementConfig()) -> MiniMesh {
        let pools = [
            Fixture.pool(owner: b, "cheap", units: 100, price: 500_000),
            Fixture.pool(owner: b, "mid", units: 100, price: 1_000_000),
            Fixture.pool(owner: c, "dear", units: 100, price: 3_000_000),
            Fixture.pool(owner: c, "tiny", units: 5, price: 100_000),
        ]
        return MiniMesh(nodes: [a, b, c], pools: pools, config: config)
    }

    @Test func placementQuotesTopKConfirmsOneAndReleasesTheOthers() throws {
        var m = mesh()
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 100))
        #expect(m.delivered.count == 1)
        let outcome = try #require(m.delivered.first?.0)
        guard case .placed(let leases) = outcome.result else {
            Issue.record("expected a placement, got \(outcome.result)")
            return
        }
        #expect(leases.count == 1)
        #expect(leases[0].pool.localName == "cheap")
        #expect(m.quoteRequests == 3)  // top k = 3 of the 3 pools with room (tiny is filtered)
        #expect(m.activeHolds == 0)  // the other two holds were released
        #expect(m.activeLeases == 1)
        #expect(outcome.explanation.obeysSumRule)
        #expect(outcome.explanation.consideredCount == 4)
        #expect(outcome.explanation.filteredCount == 1)
        #expect(outcome.explanation.chosen == leases[0].pool)
        #expect(m.requesters[a]!.explanations.why(RequestID(value: 1)) == outcome.explanation)
        let tiny = try #require(
            m.requesters[a]!.explanations.whyNot(RequestID(value: 1), pool: try ComputeID(owner: c, path: ["tiny"])))
        guard case .filtered(.capacity, _) = tiny.outcome else {
            Issue.record("tiny should be filtered for capacity, got \(tiny.outcome)")
            return
        }
    }

    @Test func theSameKeyReturnsTheOriginalOutcomeAndBooksNothingMore() {
        var m = mesh()
        m.place(Fixture.request(1, key: "k"), at: a, now: MeshInstant(milliseconds: 100))
        var retry = Fixture.request(2, key: "k")
        retry.deadline = MeshInstant(milliseconds: 9_000)
        m.place(retry, at: a, now: MeshInstant(milliseconds: 200))
        #expect(m.delivered.count == 2)
        // The same outcome, answering each attempt under its own request ID.
        #expect(m.delivered[0].0.result == m.delivered[1].0.result)
        #expect(m.delivered[1].0.requestID == RequestID(value: 2))
        #expect(m.activeLeases == 1)
    }

    @Test func theSameKeyWithDifferentContentIsAnIdempotencyConflict() {
        var m = mesh()
        m.place(Fixture.request(1, key: "k", units: 10), at: a, now: MeshInstant(milliseconds: 100))
        let sentBefore = m.sent.count
        m.place(Fixture.request(2, key: "k", units: 20), at: a, now: MeshInstant(milliseconds: 200))
        #expect(m.sent.count == sentBefore)
        guard case .refused(.idempotencyConflict, _) = m.delivered.last?.0.result else {
            Issue.record("expected idempotency-conflict, got \(String(describing: m.delivered.last?.0.result))")
            return
        }
        #expect(m.activeLeases == 1)
    }

    @Test(arguments: [
        ("unknown sector", RefuseReason.unknownSector),
        ("expired deadline", RefuseReason.deadlineExpired),
        ("zero demand", RefuseReason.invalidDemand),
        ("absurd demand", RefuseReason.invalidDemand),
        ("count without class", RefuseReason.invalidDemand),
        ("gang over two pools", RefuseReason.invalidDemand),
    ])
    func badInputIsRefusedByNameAndReservesNothing(_ label: String, _ expected: RefuseReason) throws {
        var m = mesh()
        var request = Fixture.request(1)
        switch label {
        case "unknown sector": request.sector = try Sector("astrology")
        case "expired deadline": request.deadline = MeshInstant(milliseconds: 50)
        case "zero demand": request.demand = Demand(computeUnits: 0)
        case "absurd demand": request.demand = Demand(computeUnits: .max)
        case "count without class": request.demand = Demand(acceleratorCount: 8, computeUnits: 1)
        default: request.demand = Demand(computeUnits: 1, mode: .gang, maxPools: 2)
        }
        m.place(request, at: a, now: MeshInstant(milliseconds: 100))
        #expect(m.sent.isEmpty)
        #expect(m.activeHolds == 0 && m.activeLeases == 0)
        guard case .refused(let reason, let message) = m.delivered.first?.0.result else {
            Issue.record("\(label): expected a refusal")
            return
        }
        #expect(reason == expected)
        #expect(!message.isEmpty)
    }

    @Test func noFittingPoolIsRefusedWithNoCandidatesAndAnExplanation() {
        var m = mesh()
        m.place(Fixture.request(1, units: 1_000), at: a, now: MeshInstant(milliseconds: 100))
        guard case .refused(.noCandidates, _) = m.delivered.first?.0.result else {
            Issue.record("expected no-candidates, got \(String(describing: m.delivered.first?.0.result))")
            return
        }
        let explanation = m.delivered[0].0.explanation
        #expect(explanation.obeysSumRule)
        #expect(explanation.filteredCount == 4 && explanation.scoredCount == 0)
    }

    @Test func staleViewLeadsToOwnerRefusalsThenANewRoundAndTheViewHeals() throws {
        var m = mesh(config: PlacementConfig(quoteFanOut: 1, maxQuoteRounds: 3))
        // Fill "cheap" behind the requester's back: its view still shows it empty.
        var rng = SeededRandom(seed: 1)
        let cheap = try ComputeID(owner: b, path: ["cheap"])
        let ask = QuoteRequest(
            requestID: RequestID(value: 99), requester: c, pool: cheap, tenant: Fixture.tenant, sector: .finance,
            demand: Demand(computeUnits: 95), holdFor: .seconds(60), deadline: MeshInstant(milliseconds: 9_000))
        _ = m.owners[b]!.onQuoteRequest(ask, from: c, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 100))
        let outcome = try #require(m.delivered.first?.0)
        guard case .placed(let leases) = outcome.result else {
            Issue.record("expected placement on the second round, got \(outcome.result)")
            return
        }
        #expect(leases[0].pool.localName == "mid")
        #expect(outcome.explanation.obeysSumRule)
        let verdict = try #require(outcome.explanation.verdicts.first { $0.pool == cheap })
        guard case .filtered(.ownerRefused, _) = verdict.outcome else {
            Issue.record("cheap's verdict should say the owner refused, got \(verdict.outcome)")
            return
        }
        #expect(m.requesters[a]!.view.entry(for: cheap)!.availability.freeComputeUnits == 5)
        #expect(m.requesters[a]!.counters.quoteRounds == 2)
    }

    @Test func aLateQuoteIsReleasedAtOnce() throws {
        var m = mesh()
        var rng = SeededRandom(seed: 3)
        let mid = try ComputeID(owner: b, path: ["mid"])
        let ask = QuoteRequest(
            requestID: RequestID(value: 42), requester: a, pool: mid, tenant: Fixture.tenant, sector: .finance,
            demand: Demand(computeUnits: 5), holdFor: .seconds(1), deadline: MeshInstant(milliseconds: 9_000))
        let directives = m.owners[b]!.onQuoteRequest(ask, from: a, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        guard case .reply(_, let quote) = directives.first(where: { if case .reply = $0 { true } else { false } }) else {
            Issue.record("no quote")
            return
        }
        #expect(m.activeHolds == 1)
        m.handle(m.requesters[a]!.onMessage(quote, from: b, now: .zero), at: a, now: .zero)
        m.run(now: .zero)
        #expect(m.activeHolds == 0)
    }

    @Test func anUnansweredConfirmIsAskedAgainAndReturnsTheLeaseTheOwnerCommitted() throws {
        var m = mesh(config: PlacementConfig(quoteFanOut: 3))
        m.drop = { if case .confirmed = $0 { true } else { false } }
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 100))
        #expect(m.delivered.isEmpty)
        #expect(m.activeLeases == 1)
        m.drop = { _ in false }
        m.tick(a, now: MeshInstant(milliseconds: 100 + 1_000))
        let outcome = try #require(m.delivered.first?.0)
        guard case .placed(let leases) = outcome.result else {
            Issue.record("expected the committed lease, got \(outcome.result)")
            return
        }
        #expect(m.activeLeases == 1, "the lease the owner committed, not a second one")
        #expect(m.owners.values.contains { $0.lease(leases[0].leaseID)?.isAcknowledged == true })
        #expect(m.activeHolds == 0)
    }

    @Test func aLeaseIsAcknowledgedToItsOwnerBeforeTheTenantIsTold() throws {
        var m = mesh()
        m.drop = { if case .leaseState = $0 { true } else { false } }
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 100))
        #expect(m.delivered.isEmpty, "no answer before the owner acknowledged the lease")
        #expect(m.owners.values.contains { $0.leaseCount == 1 })
        m.drop = { _ in false }
        m.tick(a, now: MeshInstant(milliseconds: 100 + PlacementConfig().acknowledgeRetryMilliseconds))
        #expect(m.delivered.first?.0.isPlaced == true)
        #expect(m.requesters[a]!.counters.acknowledgements == 1)
    }

    @Test func aRetryOfARequestInDoubtReturnsTheLeaseThatWasCommitted() throws {
        var m = mesh()
        m.drop = { if case .confirmed = $0 { true } else { false } }
        m.place(Fixture.request(1, key: "k", deadline: 2_000), at: a, now: MeshInstant(milliseconds: 100))
        var t = MeshInstant(milliseconds: 100)
        while m.delivered.isEmpty && t < MeshInstant(milliseconds: 3_000) {
            t = t + .milliseconds(500)
            m.tick(a, now: t)
        }
        guard case .refused(.ownerUnreachable, _) = m.delivered.first?.0.result else {
            Issue.record("expected owner-unreachable, got \(String(describing: m.delivered.first?.0.result))")
            return
        }
        let committed = m.owners.values.flatMap { $0.activeLeases }
        #expect(committed.count == 1)
        // The retry (a new request ID and deadline, the same key and content) finishes it.
        m.drop = { _ in false }
        var retry = Fixture.request(2, key: "k", deadline: 9_000)
        retry.deadline = MeshInstant(milliseconds: 9_000)
        m.place(retry, at: a, now: t)
        guard case .placed(let leases) = m.delivered.last?.0.result else {
            Issue.record("expected the committed lease, got \(String(describing: m.delivered.last?.0.result))")
            return
        }
        #expect(leases.map(\.leaseID) == committed.map(\.leaseID))
        #expect(m.activeLeases == 1)
        #expect(m.requesters[a]!.counters.resumed == 1)
    }

    @Test func aTransientRefusalIsNotReplayedButAFinalOneIs() throws {
        var m = mesh()
        // Every owner is unreachable: the refusal says so, and is not remembered.
        for owner in [b, c] { _ = m.requesters[a]!.onUnreachable(owner, now: MeshInstant(milliseconds: 50)) }
        m.place(Fixture.request(1, key: "k"), at: a, now: MeshInstant(milliseconds: 100))
        guard case .refused(.ownerUnreachable, _) = m.delivered.last?.0.result else {
            Issue.record("expected owner-unreachable, got \(String(describing: m.delivered.last?.0.result))")
            return
        }
        // Once the owners are back, the same key is served anew.
        m.requesters[a]!.onReachable(b)
        m.requesters[a]!.onReachable(c)
        m.place(Fixture.request(2, key: "k"), at: a, now: MeshInstant(milliseconds: 200))
        #expect(m.delivered.last?.0.isPlaced == true)
        // A final refusal is replayed: the same key for a demand nothing fits stays refused.
        m.place(Fixture.request(3, key: "big", units: 10_000), at: a, now: MeshInstant(milliseconds: 300))
        let first = try #require(m.delivered.last?.0)
        m.place(Fixture.request(4, key: "big", units: 10_000), at: a, now: MeshInstant(milliseconds: 400))
        #expect(m.delivered.last?.0.result == first.result)
        #expect(m.delivered.last?.0.requestID == RequestID(value: 4), "each answer carries the request it answers")
    }

    @Test func anUnreachableOwnerIsNamedNotTakenForAFullPool() throws {
        var m = mesh()
        let pools = [Fixture.pool(owner: b, "only", units: 100)]
        m = MiniMesh(nodes: [a, b], pools: pools)
        _ = m.requesters[a]!.onUnreachable(b, now: MeshInstant(milliseconds: 50))
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 100))
        guard case .refused(let reason, let message) = m.delivered.last?.0.result else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason == .ownerUnreachable, "\(message)")
        #expect(reason.isTransient)
    }

    @Test func losingTheLinkToAnOwnerEndsTheWaitForItsQuoteAtOnce() throws {
        var m = mesh()
        m.drop = { if case .quote(let q) = $0 { q.pool.owner == c } else { false } }
        m.drop = { message in
            if case .quoteRequest(let ask) = message { return ask.pool.owner == c }
            return false
        }
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 100))
        // b answered, c's quotes are outstanding: the requester waits for c...
        #expect(m.delivered.isEmpty)
        // ...until c is found unreachable, which concludes the round at once (no 500 ms wait).
        m.handle(
            m.requesters[a]!.onUnreachable(c, now: MeshInstant(milliseconds: 101)), at: a, now: MeshInstant(milliseconds: 101))
        m.run(now: MeshInstant(milliseconds: 101))
        #expect(m.delivered.first?.0.isPlaced == true)
    }

    @Test func candidatesComeFromTheIndexNotEveryPool() {
        var view = PoolView()
        let owner = Fixture.nodeID(9)
        for i in 0..<100 {
            let d = Fixture.pool(owner: owner, "p\(i)", gpus: i % 10 == 0 ? 8 : 0, npus: i % 10 == 1 ? 8 : 0)
            view.upsert(Fixture.entry(d))
        }
        let gpu = Fixture.request(1, gpus: 4)
        #expect(view.candidatePositions(for: gpu).count == 10)
        let decision = CandidateEvaluation.decide(
            gpu, view: view, now: .zero, decidedBy: owner, region: Fixture.east, path: [owner], config: PlacementConfig())
        #expect(decision.explanation.consideredCount == 10)
        #expect(decision.ranked.count == 10)
        #expect(decision.explanation.obeysSumRule)
        var west = Fixture.request(2, constraints: Constraints(residency: [Fixture.west]))
        west.demand = Demand(computeUnits: 1)
        #expect(view.candidatePositions(for: west).isEmpty)
    }

    @Test func theIndexDropsOnlyPoolsThatCouldNotMatch() {
        var rng = SeededRandom(seed: 21)
        var view = PoolView()
        let owner = Fixture.nodeID(9)
        let regions = [Fixture.east, Fixture.west]
        for i in 0..<300 {
            let d = Fixture.pool(
                owner: owner, "p\(i)", units: 10 + rng.next(below: 90), gpus: rng.chance(permille: 400) ? 8 : 0,
                npus: rng.chance(permille: 300) ? 4 : 0, price: 100_000 + rng.next(below: 3_000_000),
                region: regions[rng.index(below: 2)])
            view.upsert(Fixture.entry(d, latency: rng.next(below: 60)))
        }
        for n in 1...200 as ClosedRange<UInt128> {
            var request = Fixture.request(
                n, units: 5 + rng.next(below: 60), gpus: rng.chance(permille: 500) ? UInt32(1 + rng.next(below: 8)) : 0)
            if rng.chance(permille: 500) { request.constraints.residency = [regions[rng.index(below: 2)]] }
            if rng.chance(permille: 300) { request.constraints.maxPricePerUnitHour = Price(microYuan: 1_500_000) }
            let indexed = CandidateEvaluation.decide(
                request, view: view, now: .zero, decidedBy: owner, region: Fixture.east, path: [owner], config: PlacementConfig())
            let scanned = CandidateEvaluation.decideScanningAll(
                request, view: view, now: .zero, decidedBy: owner, region: Fixture.east, path: [owner], config: PlacementConfig())
            #expect(indexed.ranked.map(\.pool) == scanned.ranked.map(\.pool))
            #expect(indexed.explanation.obeysSumRule && scanned.explanation.obeysSumRule)
            #expect(indexed.explanation.consideredCount <= scanned.explanation.consideredCount)
        }
    }

    @Test func everyFilterNamesItsReason() throws {
        let owner = Fixture.nodeID(9)
        let finance = try Certification("finance-grade")
        var view = PoolView()
        let pools = [
            Fixture.pool(owner: owner, "policy", policy: .sectorIn([.healthcare])),
            Fixture.pool(owner: owner, "residency", region: Fixture.west),
            Fixture.pool(owner: owner, "arm", certifications: ["finance-grade"], architecture: .aarch64),
            Fixture.pool(owner: owner, "uncertified"),
            Fixture.pool(owner: owner, "pricey", price: 9_000_000, certifications: ["finance-grade"]),
            Fixture.pool(owner: owner, "ok", certifications: ["finance-grade"]),
        ]
        for pool in pools { view.upsert(Fixture.entry(pool)) }
        view.upsert(Fixture.entry(Fixture.pool(owner: owner, "stale", certifications: ["finance-grade"]), validFor: 50))
        let request = Fixture.request(
            1,
            constraints: Constraints(
                residency: [Fixture.east], certifications: [finance], architectures: [.x86_64],
                maxPricePerUnitHour: Price(microYuan: 2_000_000), maxLatency: .milliseconds(50)))
        let decision = CandidateEvaluation.decide(
            request, view: view, now: MeshInstant(milliseconds: 100), decidedBy: owner, region: Fixture.east, path: [owner],
            config: PlacementConfig())
        var reasons: [String: FilterReason] = [:]
        for verdict in decision.explanation.verdicts {
            if case .filtered(let reason, let detail) = verdict.outcome {
                reasons[verdict.pool.localName] = reason
                #expect(!detail.isEmpty)
            }
        }
        #expect(reasons["policy"] == .policy)
        #expect(reasons["arm"] == .architecture)
        #expect(reasons["uncertified"] == .certification)
        #expect(reasons["pricey"] == .price)
        #expect(reasons["stale"] == .stale)
        #expect(reasons["residency"] == nil)  // the residency index never offered it
        #expect(decision.ranked.map(\.pool.localName) == ["ok"])
        #expect(decision.explanation.obeysSumRule)
        #expect(decision.explanation.consideredCount == 6)
    }

    @Test func rankingIsDeterministicByScoreThenPriceThenID() {
        let owner = Fixture.nodeID(9)
        var view = PoolView()
        // Same score and price: the lower ID wins.
        for name in ["b", "a", "c"] { view.upsert(Fixture.entry(Fixture.pool(owner: owner, name))) }
        view.upsert(Fixture.entry(Fixture.pool(owner: owner, "cheaper", price: 10)))
        let decision = CandidateEvaluation.decide(
            Fixture.request(1), view: view, now: .zero, decidedBy: owner, region: Fixture.east, path: [owner],
            config: PlacementConfig())
        #expect(decision.ranked.map(\.pool.localName) == ["cheaper", "a", "b", "c"])
    }
}
