import MeshCore
import Testing

@testable import MeshPlacement

@Suite("Spillover")
struct SpilloverTests {
    let a = Fixture.nodeID(1)
    let b = Fixture.nodeID(2)
    let c = Fixture.nodeID(3)
    let d = Fixture.nodeID(4)

    /// Each node sees only its own pools; every node may spill to every other.
    func regions(poolsAt owners: [NodeID]) -> MiniMesh {
        var m = MiniMesh(nodes: [a, b, c, d], pools: [])
        for owner in owners {
            let pool = Fixture.pool(owner: owner, "pool", units: 100)
            _ = m.owners[owner]!.register(Fixture.registered(pool), now: .zero)
            m.requesters[owner]!.view.upsert(Fixture.entry(pool))
        }
        for node in [a, b, c, d] { m.requesters[node]!.setSpilloverPeers([a, b, c, d]) }
        return m
    }

    @Test func aFullRegionForwardsAndExactlyOneCommitResults() throws {
        var m = regions(poolsAt: [d])
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 10))
        let outcome = try #require(m.delivered.first?.0)
        guard case .placed(let leases) = outcome.result else {
            Issue.record("expected the request to spill over and place, got \(outcome.result)")
            return
        }
        #expect(leases[0].pool.owner == d)
        #expect(m.activeLeases == 1)
        #expect(m.activeHolds == 0)
        #expect(outcome.explanation.path.first == a)
        #expect(outcome.explanation.path.count <= 4)
        #expect(outcome.explanation.obeysSumRule)
        #expect(m.delivered.count == 1)
    }

    @Test func forwardingStopsAtTheHopLimitAndNamesIt() throws {
        var m = regions(poolsAt: [])
        m.place(Fixture.request(1), at: a, now: MeshInstant(milliseconds: 10))
        let outcome = try #require(m.delivered.first?.0)
        guard case .refused = outcome.result else {
            Issue.record("nothing can serve it")
            return
        }
        var forwards = 0
        for case (_, _, .forward(let ask)) in m.sent {
            forwards += 1
            #expect(ask.hopLimit >= 1 && ask.hopLimit <= PlacementConfig.hopLimitCeiling)
            #expect(ask.path.count <= Int(PlacementConfig.hopLimitCeiling))
            #expect(Set(ask.path).count == ask.path.count)
        }
        #expect(forwards > 0)
        #expect(m.activeHolds == 0 && m.activeLeases == 0)
    }

    @Test func aRequestThatComesBackIsRefusedAsALoop() {
        var m = regions(poolsAt: [])
        var rng = SeededRandom(seed: 1)
        let ask = Forward(request: Fixture.request(1), hopLimit: 2, path: [c, b])
        let directives = m.requesters[b]!.onForward(ask, from: c, now: .zero, rng: &rng)
        guard case .deliver(let outcome, .node(let to), _) = directives.first, case .refused(.loopDetected, _) = outcome.result
        else {
            Issue.record("expected loop-detected, got \(directives)")
            return
        }
        #expect(to == c)
    }

    @Test func aForwardWithNoHopsLeftIsRefused() {
        var m = regions(poolsAt: [b])
        var rng = SeededRandom(seed: 1)
        let directives = m.requesters[b]!.onForward(
            Forward(request: Fixture.request(1), hopLimit: 0, path: [a]), from: a, now: .zero, rng: &rng)
        guard case .deliver(let outcome, _, _) = directives.first, case .refused(.hopLimitReached, _) = outcome.result else {
            Issue.record("expected hop-limit-reached, got \(directives)")
            return
        }
    }

    @Test func aLeaseThatArrivesForNoWaitingRequestIsLeftUnacknowledgedAndLapses() throws {
        var m = regions(poolsAt: [d])
        // Serve the forward at d directly, as if a's first forward timed out and a moved on.
        var rng = SeededRandom(seed: 2)
        m.handle(
            m.requesters[d]!.onForward(
                Forward(request: Fixture.request(5), hopLimit: 2, path: [a]), from: a, now: .zero, rng: &rng), at: d,
            now: .zero)
        m.run(now: .zero)
        // a never forwarded request 5: nobody tells a tenant of the lease, so nobody acknowledges
        // it. It is not released (the key's home may answer another attempt with it); its owner
        // abandons it after the bound.
        #expect(m.activeLeases == 1)
        #expect(m.requesters[a]!.counters.lateLeases == 1)
        m.tick(d, now: MeshInstant(milliseconds: PlacementConfig().acknowledgeWithinMilliseconds))
        #expect(m.activeLeases == 0)
        #expect(m.owners[d]!.abandonedLeases == 1)
    }
}

@Suite("Pool registration")
struct RegistrationTests {
    let node = Fixture.nodeID(5)

    func spec(_ path: [String]) -> PoolSpec {
        PoolSpec(
            path: path, architecture: .aarch64, computeUnits: 64, memoryMiB: 1 << 16, pricePerUnitHour: Price(microYuan: 5),
            residency: Fixture.east, certifications: [try! Certification("healthcare"), try! Certification("healthcare")],
            greenEnergyPermille: 800)
    }

    @Test func registrationIssuesAComputeIDUnderTheNodesNamespace() throws {
        var registry = PoolRegistry(node: node)
        let first = try registry.register(spec(["npu", "hall-1"]))
        let second = try registry.register(spec(["npu", "hall-2"]))
        #expect(first.descriptor.id.owner == node)
        #expect(first.descriptor.id.localName == "npu/hall-1")
        #expect(first.descriptor.certifications.count == 1)
        #expect(second.sequence == first.sequence + 1)
        var ledger = OwnerLedger(node: node)
        let directives = ledger.register(first, now: .zero)
        #expect(directives.contains(.persist([.poolRegistered(first)], ledgerVersion: 1)))
        let entry = registry.viewEntry(first, now: .zero, validFor: .seconds(5))
        #expect(entry.availability.freeComputeUnits == 64)
        var restored = PoolRegistry(node: node)
        restored.restore(registry.registered)
        #expect(try restored.register(spec(["npu", "hall-3"])).sequence == second.sequence + 1)
    }

    @Test func badSpecsAreRefusedWithAReason() {
        var registry = PoolRegistry(node: node, maxPools: 1)
        #expect(throws: RegistrationError.self) { try registry.register(spec(["Bad Name"])) }
        var zero = spec(["zero"])
        zero.computeUnits = 0
        #expect(throws: RegistrationError.self) { try registry.register(zero) }
        var green = spec(["green"])
        green.greenEnergyPermille = 1001
        #expect(throws: RegistrationError.self) { try registry.register(green) }
        var named = spec(["named"])
        named.displayName = String(repeating: "x", count: PoolDescriptor.maxDisplayNameBytes + 1)
        #expect(throws: RegistrationError.self, "a name the wire cannot carry must not be registered") {
            try registry.register(named)
        }
        named.displayName = String(repeating: "x", count: PoolDescriptor.maxDisplayNameBytes)
        #expect(throws: Never.self) { try registry.register(named) }
        registry = PoolRegistry(node: node, maxPools: 1)
        #expect(throws: Never.self) { try registry.register(spec(["one"])) }
        #expect(throws: RegistrationError.self) { try registry.register(spec(["two"])) }
    }
}
