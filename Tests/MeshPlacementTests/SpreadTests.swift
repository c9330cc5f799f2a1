import MeshCore
import Testing

@testable import MeshPlacement

@Suite("Spread demands")
struct SpreadTests {
    let a = Fixture.nodeID(1)
    let b = Fixture.nodeID(2)
    let c = Fixture.nodeID(3)
    let d = Fixture.nodeID(4)

    /// Three owners with 30 units each; b also has a cheap 30-unit pool, so two of b's pools rank
    /// ahead of c's and d's.
    func mesh(config: PlacementConfig = PlacementConfig()) -> MiniMesh {
        let pools = [
            Fixture.pool(owner: b, "b1", units: 30, price: 400_000),
            Fixture.pool(owner: b, "b2", units: 30, price: 500_000),
            Fixture.pool(owner: c, "c1", units: 30, price: 900_000),
            Fixture.pool(owner: d, "d1", units: 30, price: 1_500_000),
        ]
        return MiniMesh(nodes: [a, b, c, d], pools: pools, config: config)
    }

    func spread(_ n: UInt128, units: UInt64, maxPools: UInt16, key: String? = nil) -> PlacementRequest {
        var request = Fixture.request(n, key: key, units: units)
        request.demand.mode = .spread
        request.demand.maxPools = maxPools
        return request
    }

    func leases(_ outcome: Outcome?) -> [Lease] {
        if case .placed(let leases)? = outcome?.result { return leases }
        return []
    }

    @Test func aSplitHasSharesThatDifferByAtMostOneAndSumToTheDemand() {
        let demand = Demand(accelerator: Fixture.h800, acceleratorCount: 7, computeUnits: 50, memoryMiB: 1_001)
        let parts = PlacementRequester.split(demand, into: 3)
        #expect(parts.map(\.computeUnits) == [17, 17, 16])
        #expect(parts.map(\.acceleratorCount) == [3, 2, 2])
        #expect(parts.map(\.memoryMiB) == [334, 334, 333])
        #expect(parts.allSatisfy { $0.mode == .gang && $0.maxPools == 1 && $0.accelerator == Fixture.h800 })
        #expect(PlacementRequester.split(demand, into: 3) == parts, "the split is deterministic")
    }

    @Test func aSpreadDemandIsPlacedOverTheFewestPoolsOnDistinctOwners() throws {
        var m = mesh()
        m.place(spread(1, units: 50, maxPools: 3), at: a, now: MeshInstant(milliseconds: 100))
        #expect(m.delivered.count == 1)
        let outcome = try #require(m.delivered.first?.0)
        let placed = leases(outcome)
        // No pool has 50 units: two shares of 25 on two owners (b's second pool is not used, as
        // parts go to distinct owners).
        #expect(placed.count == 2)
        #expect(placed.map(\.computeUnits).reduce(0, +) == 50)
        #expect(Set(placed.map(\.pool.owner)).count == 2)
        #expect(placed.map(\.pool.localName).sorted() == ["b1", "c1"])
        #expect(m.activeLeases == 2)
        #expect(m.activeHolds == 0, "quotes not used are released")
        #expect(outcome.explanation.obeysSumRule)
        #expect(outcome.explanation.consideredCount == 4)
        #expect(outcome.explanation.chosen == placed[0].pool)
        #expect(m.requesters[a]!.counters.spreadPlaced == 1)
        #expect(m.requesters[a]!.counters.quoteRounds == 1)
    }

    @Test func aSpreadThatFitsOnePoolUsesOne() throws {
        var m = mesh()
        m.place(spread(1, units: 20, maxPools: 4), at: a, now: MeshInstant(milliseconds: 100))
        let placed = leases(m.delivered.first?.0)
        #expect(placed.count == 1)
        #expect(placed.first?.computeUnits == 20)
        #expect(m.activeLeases == 1 && m.activeHolds == 0)
    }

    @Test func aSpreadNoSetOfPoolsCanServeIsRefusedWithoutAskingAnyOwner() throws {
        var m = mesh()
        // 100 units over at most 3 pools needs 34 units in each: no pool has them.
        m.place(spread(1, units: 100, maxPools: 3), at: a, now: MeshInstant(milliseconds: 100))
        let outcome = try #require(m.delivered.first?.0)
        guard case .refused(.noCandidates, _) = outcome.result else {
            Issue.record("expected no-candidates, got \(outcome.result)")
            return
        }
        #expect(m.quoteRequests == 0)
        #expect(outcome.explanation.obeysSumRule)
        #expect(m.activeHolds == 0 && m.activeLeases == 0)
    }

    @Test func aPartRefusedAtConfirmGivesBackEveryPartAndLeavesNoLease() throws {
        var m = mesh()
        // Hold back every CONFIRM so the test can answer them one by one.
        m.drop = { if case .confirm = $0 { true } else { false } }
        let now = MeshInstant(milliseconds: 100)
        m.place(spread(1, units: 50, maxPools: 3), at: a, now: now)
        let confirms = m.sent.compactMap { entry -> (NodeID, Confirm)? in
            if case .confirm(let ask) = entry.2 { return (entry.to, ask) }
            return nil
        }
        #expect(confirms.count == 2)
        #expect(m.activeHolds == 2)
        m.drop = { _ in false }
        // The first owner confirms: its lease is made.
        let (first, firstAsk) = confirms[0]
        m.handleOwner(m.owners[first]!.onConfirm(firstAsk, from: a, now: now, rng: &m.rng), at: first)
        m.run(now: now)
        #expect(m.activeLeases == 1)
        #expect(m.delivered.isEmpty, "no outcome until every part is confirmed")
        // The second owner refuses (as if its hold had lapsed).
        let (second, secondAsk) = confirms[1]
        let refusal = Refuse(requestID: secondAsk.requestID, reason: .holdLapsed, message: "lapsed")
        m.handle(m.requesters[a]!.onMessage(.refuse(refusal), from: second, now: now), at: a, now: now)
        m.run(now: now)
        let outcome = try #require(m.delivered.first?.0)
        guard case .refused = outcome.result else {
            Issue.record("a spread with a failed part must not be placed, got \(outcome.result)")
            return
        }
        #expect(m.activeLeases == 0, "the confirmed part was given back")
        #expect(m.activeHolds == 0, "the refused part's hold was given back too")
        #expect(outcome.explanation.obeysSumRule)
        #expect(m.requesters[a]!.counters.spreadRolledBack == 1)
        #expect(m.requesters[a]!.inFlightCount == 0)
    }

    @Test func aConfirmAnsweredLateIsAskedAgainAndEveryPartIsReported() throws {
        var m = mesh()
        let now = MeshInstant(milliseconds: 100)
        // c's CONFIRMED is lost: b's part is leased, c's too, but the requester never hears of c's.
        m.drop = { if case .confirmed(let done) = $0 { done.lease.pool.owner == c } else { false } }
        m.place(spread(1, units: 50, maxPools: 3), at: a, now: now)
        #expect(m.delivered.isEmpty)
        #expect(m.activeLeases == 2)
        m.drop = { _ in false }
        // The requester asks c again; c answers with the lease it committed.
        m.tick(a, now: now + .milliseconds(PlacementConfig().confirmTimeoutMilliseconds))
        let placed = leases(m.delivered.first?.0)
        #expect(placed.count == 2)
        #expect(m.activeLeases == 2, "no part was booked twice")
        #expect(m.requesters[a]!.counters.confirmsRepeated == 1)
    }

    @Test func confirmsUnansweredByTheDeadlineLeaveTheRequestInDoubtAndItsLeasesLapse() throws {
        var m = mesh()
        let now = MeshInstant(milliseconds: 100)
        m.drop = { if case .confirmed(let done) = $0 { done.lease.pool.owner == c } else { false } }
        m.place(spread(1, units: 50, maxPools: 3), at: a, now: now)
        var t = now
        while m.delivered.isEmpty && t < MeshInstant(milliseconds: 6_000) {
            t = t + .milliseconds(500)
            m.tick(a, now: t)
        }
        guard case .refused(.ownerUnreachable, _) = m.delivered.first?.0.result else {
            Issue.record("expected owner-unreachable at the deadline, got \(String(describing: m.delivered.first?.0.result))")
            return
        }
        #expect(m.requesters[a]!.inDoubtCount == 1)
        // Nobody acknowledged the two leases: their owners abandon them after the bound.
        let bound = MeshInstant(milliseconds: 100 + PlacementConfig().acknowledgeWithinMilliseconds + 5_000)
        m.tick(b, now: bound)
        m.tick(c, now: bound)
        #expect(m.activeLeases == 0)
    }

    @Test func theSameKeyReturnsTheSameSpreadOutcomeAndBooksNothingMore() throws {
        var m = mesh()
        m.place(spread(1, units: 50, maxPools: 3, key: "k"), at: a, now: MeshInstant(milliseconds: 100))
        var retry = spread(2, units: 50, maxPools: 3, key: "k")
        retry.deadline = MeshInstant(milliseconds: 9_000)
        m.place(retry, at: a, now: MeshInstant(milliseconds: 200))
        #expect(m.delivered.count == 2)
        // The same outcome, answering each attempt under its own request ID.
        #expect(m.delivered[0].0.result == m.delivered[1].0.result)
        #expect(m.delivered[1].0.requestID == RequestID(value: 2))
        #expect(leases(m.delivered[0].0).count == 2)
        #expect(m.activeLeases == 2)
        var conflict = spread(3, units: 50, maxPools: 2, key: "k")
        conflict.deadline = MeshInstant(milliseconds: 9_000)
        m.place(conflict, at: a, now: MeshInstant(milliseconds: 300))
        guard case .refused(.idempotencyConflict, _) = m.delivered.last?.0.result else {
            Issue.record("the same key with another spread is a conflict")
            return
        }
        #expect(m.activeLeases == 2)
    }

    @Test func aSpreadPartRefusedAtQuoteIsAskedOfTheNextOwner() throws {
        var m = mesh(config: PlacementConfig(quoteFanOut: 1))
        // Fill c1 behind the requester's back: its view still shows 30 units.
        var rng = SeededRandom(seed: 1)
        let c1 = try ComputeID(owner: c, path: ["c1"])
        let ask = QuoteRequest(
            requestID: RequestID(value: 99), requester: d, pool: c1, tenant: Fixture.tenant, sector: .finance,
            demand: Demand(computeUnits: 30), holdFor: .seconds(60), deadline: MeshInstant(milliseconds: 9_000))
        _ = m.owners[c]!.onQuoteRequest(ask, from: d, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        m.place(spread(1, units: 50, maxPools: 3), at: a, now: MeshInstant(milliseconds: 100))
        let outcome = try #require(m.delivered.first?.0)
        let placed = leases(outcome)
        #expect(placed.map(\.pool.localName).sorted() == ["b1", "d1"])
        #expect(placed.map(\.computeUnits).reduce(0, +) == 50)
        #expect(m.requesters[a]!.counters.quoteRounds == 2)
        #expect(outcome.explanation.obeysSumRule)
        #expect(m.activeHolds == 1, "only the outside hold on c1 remains")
        #expect(m.activeLeases == 2)
    }
}

@Suite("Requester view upkeep")
struct RequesterViewTests {
    let a = Fixture.nodeID(1)
    let b = Fixture.nodeID(2)
    let c = Fixture.nodeID(3)

    @Test func quotesGivenBackAreCreditedBackToTheView() throws {
        let pools = [
            Fixture.pool(owner: b, "cheap", units: 100, price: 500_000),
            Fixture.pool(owner: b, "mid", units: 100, price: 1_000_000),
            Fixture.pool(owner: c, "dear", units: 100, price: 3_000_000),
        ]
        var m = MiniMesh(nodes: [a, b, c], pools: pools)
        m.place(Fixture.request(1, units: 10), at: a, now: MeshInstant(milliseconds: 100))
        let view = m.requesters[a]!.view
        #expect(view.entry(for: pools[0].id)!.availability.freeComputeUnits == 90, "the lease stays debited")
        #expect(view.entry(for: pools[1].id)!.availability.freeComputeUnits == 100, "a released quote is credited back")
        #expect(view.entry(for: pools[2].id)!.availability.freeComputeUnits == 100)
    }

    @Test func aRecordIssuedBeforeARefusalsFreshFiguresDoesNotOverwriteThem() throws {
        let pool = Fixture.pool(owner: b, "p", units: 100)
        var view = PoolView()
        view.upsert(Fixture.entry(pool, issuedAt: .zero))
        var fresh = view.entry(for: pool.id)!.availability
        fresh.freeComputeUnits = 3
        view.heal(fresh, now: MeshInstant(milliseconds: 500))
        var older = fresh
        older.freeComputeUnits = 100
        view.updateAvailability(
            older, epoch: 1, sequence: 2, issuedAt: MeshInstant(milliseconds: 400), validUntil: MeshInstant(milliseconds: 3_400))
        #expect(view.entry(for: pool.id)!.availability.freeComputeUnits == 3)
        view.updateAvailability(
            older, epoch: 1, sequence: 3, issuedAt: MeshInstant(milliseconds: 600), validUntil: MeshInstant(milliseconds: 3_600))
        #expect(view.entry(for: pool.id)!.availability.freeComputeUnits == 100)
        let now = MeshInstant(milliseconds: 700)
        #expect(view.hasRoom(pool: pool.id, for: Demand(computeUnits: 100), group: nil, now: now))
        #expect(!view.hasRoom(pool: pool.id, for: Demand(computeUnits: 101), group: nil, now: now))
        #expect(!view.hasRoom(pool: pool.id, for: Demand(computeUnits: 1), group: nil, now: MeshInstant(milliseconds: 3_601)))
    }

    @Test func aSpilledRequestPrefersFreshOrRoomyFiguresAndSkipsTheRest() throws {
        // Two pools last heard of 2 s ago: 20 units free (15 leaves no spare room) and 40 (it does).
        // The cheaper, tighter one ranks first.
        let tight = Fixture.pool(owner: b, "tight", units: 20, price: 500_000)
        let roomy = Fixture.pool(owner: c, "roomy", units: 40, price: 2_000_000)
        let now = MeshInstant(milliseconds: 2_000)
        var rng = SeededRandom(seed: 4)
        // Its own tenant's request is tried on the best figures, tight ones included.
        var m = MiniMesh(nodes: [a, b, c], pools: [tight, roomy])
        m.place(Fixture.request(1, units: 15, deadline: 9_000), at: b, now: now)
        #expect(m.sent.contains { if case .quoteRequest(let q) = $0.2 { q.pool == tight.id } else { false } })
        // A spilled request asks only the pool with spare room; the tight one is skipped and
        // explained as such.
        var n = MiniMesh(nodes: [a, b, c], pools: [tight, roomy])
        n.handle(
            n.requesters[b]!.onForward(
                Forward(request: Fixture.request(2, units: 15, deadline: 9_000, origin: a), hopLimit: 1, path: [a]),
                from: a, now: now, rng: &rng), at: b, now: now)
        n.run(now: now)
        let asked = n.sent.compactMap { if case .quoteRequest(let q) = $0.2 { q.pool } else { nil } }
        #expect(asked == [roomy.id])
        #expect(n.requesters[b]!.counters.spilloverCandidatesSkipped == 1)
        guard let outcome = n.sent.compactMap({ if case .outcome(let o) = $0.2 { o } else { nil } }).last else {
            Issue.record("the spilled request got no outcome: \(n.sent.map(\.2))")
            return
        }
        #expect(outcome.isPlaced)
        #expect(outcome.explanation.obeysSumRule)
    }

    @Test func aSpilledRequestOnOldTightFiguresIsRefusedUnlessTheFreshnessWindowCoversThem() throws {
        // One pool, 20 units free, heard of 2 s ago; the spilled request wants 15.
        let pool = Fixture.pool(owner: b, "p", units: 20)
        let now = MeshInstant(milliseconds: 2_000)
        func spill(_ config: PlacementConfig) -> (MiniMesh, Outcome?) {
            var rng = SeededRandom(seed: 5)
            var n = MiniMesh(nodes: [a, b, c], pools: [pool], config: config)
            n.handle(
                n.requesters[b]!.onForward(
                    Forward(request: Fixture.request(2, units: 15, deadline: 9_000, origin: a), hopLimit: 1, path: [a]),
                    from: a, now: now, rng: &rng), at: b, now: now)
            n.run(now: now)
            return (n, n.sent.compactMap({ if case .outcome(let o) = $0.2 { o } else { nil } }).last)
        }
        // Default window (250 ms, for views that lag by seconds): nobody is asked; refused back.
        let (strict, refused) = spill(PlacementConfig())
        #expect(strict.quoteRequests == 0)
        #expect(strict.requesters[b]!.counters.spilloverCandidatesSkipped == 1)
        #expect(refused.map { !$0.isPlaced } == true)
        #expect(refused?.explanation.obeysSumRule == true)
        // A window covering the figures' age (the node process's setting: owners publish on every
        // change, so an old record is an unchanged one): the pool is asked and the request placed.
        let (calm, placed) = spill(PlacementConfig(spilloverFreshMilliseconds: 30_000))
        #expect(calm.quoteRequests == 1)
        #expect(placed?.isPlaced == true, "refused although the figures were current: \(String(describing: placed?.result))")
    }
}
