import MeshCore
import Testing

@testable import MeshPlacement

@Suite("Owner ledger")
struct OwnerLedgerTests {
    let owner = Fixture.nodeID(2)
    let requester = Fixture.nodeID(1)

    func ledger(policy: PolicyExpr = .acceptAll) -> (OwnerLedger, ComputeID) {
        var ledger = OwnerLedger(node: owner)
        let pool = Fixture.pool(owner: owner, "gpu", units: 100, gpus: 8, policy: policy)
        _ = ledger.register(Fixture.registered(pool), now: .zero)
        return (ledger, pool.id)
    }

    func ask(_ pool: ComputeID, units: UInt64 = 10, gpus: UInt32 = 0, id: UInt128 = 1, sector: Sector = .finance) -> QuoteRequest
    {
        QuoteRequest(
            requestID: RequestID(value: id), requester: requester, pool: pool, tenant: Fixture.tenant, sector: sector,
            demand: Demand(accelerator: gpus > 0 ? Fixture.h800 : nil, acceleratorCount: gpus, computeUnits: units),
            holdFor: .seconds(2), deadline: MeshInstant(milliseconds: 100_000))
    }

    func quote(_ directives: [OwnerDirective]) -> Quote? {
        for case .reply(_, .quote(let offer)) in directives { return offer }
        return nil
    }

    func refusal(_ directives: [OwnerDirective]) -> Refuse? {
        for case .reply(_, .refuse(let r)) in directives { return r }
        return nil
    }

    @Test func aQuotePlacesAHoldAndPersistsItBeforeAnswering() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        let directives = l.onQuoteRequest(
            ask(pool, gpus: 4), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        let persistIndex = try #require(directives.firstIndex { if case .persist = $0 { true } else { false } })
        let replyIndex = try #require(directives.firstIndex { if case .reply = $0 { true } else { false } })
        #expect(persistIndex < replyIndex)
        let offer = try #require(quote(directives))
        #expect(offer.holdExpiresAt == MeshInstant(milliseconds: 2_000))
        #expect(offer.ledgerVersion == l.ledgerVersion)
        #expect(l.availability(of: pool)!.freeComputeUnits == 90)
        #expect(l.availability(of: pool)!.freeAccelerators == [4])
        #expect(directives.contains(.scheduleSweep(at: MeshInstant(milliseconds: 2_000))))
    }

    @Test func notEnoughCapacityIsRefusedWithFreshAvailability() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        _ = l.onQuoteRequest(ask(pool, units: 95), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        let directives = l.onQuoteRequest(
            ask(pool, units: 10, id: 2), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        let r = try #require(refusal(directives))
        #expect(r.reason == .insufficientCapacity)
        #expect(r.freshAvailability?.freeComputeUnits == 5)
        #expect(!directives.contains { if case .persist = $0 { true } else { false } })
    }

    @Test func confirmTurnsTheHoldIntoALeaseAndARepeatReturnsTheSameLease() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        let offer = try #require(
            quote(l.onQuoteRequest(ask(pool), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)))
        let confirm = Confirm(
            requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "k", leaseDuration: .seconds(60))
        let first = l.onConfirm(confirm, from: requester, now: MeshInstant(milliseconds: 500), rng: &rng)
        let second = l.onConfirm(confirm, from: requester, now: MeshInstant(milliseconds: 600), rng: &rng)
        var leases: [Lease] = []
        for case .reply(_, .confirmed(let c)) in first + second { leases.append(c.lease) }
        #expect(leases.count == 2)
        #expect(leases[0] == leases[1])
        #expect(leases[0].expiresAt == MeshInstant(milliseconds: 60_500))
        #expect(l.holdCount == 0 && l.leaseCount == 1)
        #expect(l.availability(of: pool)!.freeComputeUnits == 90)
    }

    @Test func aSecondConfirmUnderTheSameKeyReturnsTheFirstLeaseAndFreesTheNewHold() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        var leases: [Lease] = []
        for id in 1...2 as ClosedRange<UInt128> {
            let offer = try #require(
                quote(l.onQuoteRequest(ask(pool, id: id), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)))
            let confirm = Confirm(
                requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "same", leaseDuration: .seconds(60))
            for case .reply(_, .confirmed(let c)) in l.onConfirm(confirm, from: requester, now: .zero, rng: &rng) {
                leases.append(c.lease)
            }
        }
        #expect(leases.count == 2 && leases[0] == leases[1])
        #expect(l.leaseCount == 1 && l.holdCount == 0)
        #expect(l.availability(of: pool)!.freeComputeUnits == 90)
        // A restored ledger keeps the guard.
        var restored = OwnerLedger(node: owner, restoring: l.snapshot)
        let offer = try #require(
            quote(
                restored.onQuoteRequest(ask(pool, id: 3), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)))
        let again = restored.onConfirm(
            Confirm(requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "same", leaseDuration: .seconds(60)),
            from: requester, now: .zero, rng: &rng)
        #expect(again.contains(.reply(to: requester, .confirmed(Confirmed(requestID: offer.requestID, lease: leases[0])))))
        #expect(restored.leaseCount == 1)
    }

    @Test func aConfirmOfALapsedHoldIsRefusedAndChangesNothing() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        let offer = try #require(
            quote(l.onQuoteRequest(ask(pool), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)))
        let directives = l.onConfirm(
            Confirm(requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "k", leaseDuration: .seconds(60)),
            from: requester, now: MeshInstant(milliseconds: 2_000), rng: &rng)
        #expect(refusal(directives)?.reason == .holdLapsed)
        #expect(l.leaseCount == 0 && l.holdCount == 0)
        #expect(l.availability(of: pool)!.freeComputeUnits == 100)
        // The only change persisted is the expiry of the hold.
        for case .persist(let changes, _) in directives { #expect(changes == [.holdExpired(offer.holdID)]) }
    }

    @Test func anotherNodeCannotConfirmOrReleaseSomeoneElsesHold() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        let offer = try #require(
            quote(l.onQuoteRequest(ask(pool), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)))
        let intruder = Fixture.nodeID(66)
        let directives = l.onConfirm(
            Confirm(requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "k", leaseDuration: .seconds(60)),
            from: intruder, now: .zero, rng: &rng)
        #expect(refusal(directives)?.reason == .unauthorized)
        _ = l.onRelease(.hold(offer.holdID), from: intruder, now: .zero)
        #expect(l.holdCount == 1)
    }

    @Test func releaseRenewAndExpiry() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        let offer = try #require(
            quote(l.onQuoteRequest(ask(pool), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)))
        var leaseID: LeaseID? = nil
        for case .reply(_, .confirmed(let c)) in l.onConfirm(
            Confirm(requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "k", leaseDuration: .seconds(10)),
            from: requester, now: .zero, rng: &rng)
        {
            leaseID = c.lease.leaseID
        }
        let id = try #require(leaseID)
        let renewed = l.onRenew(id, extendBy: .seconds(5), from: requester, now: MeshInstant(milliseconds: 9_000))
        #expect(
            renewed.contains(
                .reply(
                    to: requester,
                    .leaseState(
                        LeaseStatus(reservation: .lease(id), state: .leased, expiresAt: MeshInstant(milliseconds: 15_000))))
            ))
        _ = l.onTick(now: MeshInstant(milliseconds: 14_999))
        #expect(l.leaseCount == 1)
        let swept = l.onTick(now: MeshInstant(milliseconds: 15_000))
        #expect(swept.contains(.persist([.leaseExpired(id)], ledgerVersion: l.ledgerVersion)))
        #expect(l.leaseCount == 0)
        let again = l.onRenew(id, extendBy: .seconds(5), from: requester, now: MeshInstant(milliseconds: 15_001))
        #expect(
            again.contains(
                .reply(to: requester, .leaseState(LeaseStatus(reservation: .lease(id), state: .unknown, expiresAt: .zero))))
        )
        #expect(l.availability(of: pool)!.freeComputeUnits == 100)
    }

    @Test func twoSidedPolicyRefusesSectorsThePoolDoesNotAccept() throws {
        var (l, pool) = ledger(policy: .sectorIn([.healthcare]))
        var rng = SeededRandom(seed: 1)
        let directives = l.onQuoteRequest(
            ask(pool, sector: .finance), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng)
        #expect(refusal(directives)?.reason == .policyRefused)
        #expect(l.holdCount == 0)
    }

    @Test func quoteRequestsForForeignPoolsOrBadInputAreRefusedByName() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        let foreign = try ComputeID(owner: Fixture.nodeID(77), path: ["x"])
        #expect(
            refusal(l.onQuoteRequest(ask(foreign), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng))?.reason
                == .notOwner)
        #expect(
            refusal(l.onQuoteRequest(ask(pool, units: 0), from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng))?
                .reason == .invalidDemand)
        var late = ask(pool)
        late.deadline = .zero
        #expect(
            refusal(l.onQuoteRequest(late, from: requester, requesterRegion: Fixture.east, now: .zero, rng: &rng))?.reason
                == .deadlineExpired)
        #expect(l.holdCount == 0)
    }

    @Test func aRestoredLedgerEqualsTheOriginal() throws {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 1)
        var all: [LedgerChange] = []
        func collect(_ d: [OwnerDirective]) { for case .persist(let c, _) in d { all += c } }
        for i in 0..<6 {
            let d = l.onQuoteRequest(
                ask(pool, units: 5, gpus: 1, id: UInt128(i + 1)), from: requester, requesterRegion: Fixture.east, now: .zero,
                rng: &rng)
            collect(d)
            if i % 2 == 0, let offer = quote(d) {
                collect(
                    l.onConfirm(
                        Confirm(
                            requestID: offer.requestID, holdID: offer.holdID, idempotencyKey: "k\(i)", leaseDuration: .seconds(60)
                        ), from: requester, now: .zero, rng: &rng))
            }
        }
        let restored = OwnerLedger(node: owner, restoring: l.snapshot)
        #expect(restored.snapshot == l.snapshot)
        #expect(restored.availability(of: pool) == l.availability(of: pool))
        #expect(l.holdCount == 3 && l.leaseCount == 3)
    }

    @Test func holdsPlusLeasesNeverExceedCapacityUnderRandomTraffic() {
        var (l, pool) = ledger()
        var rng = SeededRandom(seed: 11)
        var now = MeshInstant.zero
        var offers: [Quote] = []
        var leases: [LeaseID] = []
        for i in 0..<5_000 {
            now = now + .milliseconds(rng.next(below: 50))
            switch rng.next(below: 4) {
            case 0, 1:
                if let o = quote(
                    l.onQuoteRequest(
                        ask(pool, units: 1 + rng.next(below: 30), gpus: UInt32(rng.next(below: 3)), id: UInt128(i + 1)),
                        from: requester, requesterRegion: Fixture.east, now: now, rng: &rng))
                {
                    offers.append(o)
                }
            case 2:
                if !offers.isEmpty {
                    let o = offers.remove(at: rng.index(below: offers.count))
                    for case .reply(_, .confirmed(let c)) in l.onConfirm(
                        Confirm(
                            requestID: o.requestID, holdID: o.holdID, idempotencyKey: "k",
                            leaseDuration: .milliseconds(rng.next(in: 100...3_000))), from: requester, now: now, rng: &rng)
                    { leases.append(c.lease.leaseID) }
                }
            default:
                if !leases.isEmpty {
                    _ = l.onRelease(.lease(leases.remove(at: rng.index(below: leases.count))), from: requester, now: now)
                }
            }
            let snapshot = l.snapshot
            let used = snapshot.holds.map(\.computeUnits).reduce(0, +) + snapshot.leases.map(\.lease.computeUnits).reduce(0, +)
            let gpus =
                snapshot.holds.map(\.acceleratorCount).reduce(0, +) + snapshot.leases.map(\.lease.acceleratorCount).reduce(0, +)
            #expect(used <= 100 && gpus <= 8)
            if used > 100 || gpus > 8 { return }
        }
    }
}
