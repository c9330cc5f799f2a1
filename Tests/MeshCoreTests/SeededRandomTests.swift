import Testing

@testable import MeshCore

@Suite("Seeded random")
struct SeededRandomTests {
    @Test func oneSeedReproducesTheWholeSequence() {
        var a = SeededRandom(seed: 42)
        var b = SeededRandom(seed: 42)
        for _ in 0..<1000 { #expect(a.next() == b.next()) }
    }

    @Test func theSequenceIsFrozenAcrossReleases() {
        // Changing these values changes every simulated run ever recorded: don't, without a reason.
        var rng = SeededRandom(seed: 0)
        let first = (0..<3).map { _ in rng.next() }
        var again = SeededRandom(seed: 0)
        #expect(first == (0..<3).map { _ in again.next() })
        #expect(first == [0x99ec_5f36_cb75_f2b4, 0xbf6e_1f78_4956_452a, 0x1a5f_849d_4933_e6e0])
    }

    @Test func differentSeedsDiverge() {
        var a = SeededRandom(seed: 1)
        var b = SeededRandom(seed: 2)
        #expect((0..<8).map { _ in a.next() } != (0..<8).map { _ in b.next() })
    }

    @Test(arguments: [1, 2, 3, 7, 10, 1000] as [UInt64])
    func boundedDrawsStayInRangeAndCoverIt(bound: UInt64) {
        var rng = SeededRandom(seed: bound)
        var seen = Array(repeating: 0, count: Int(min(bound, 1000)))
        for _ in 0..<20_000 {
            let value = rng.next(below: bound)
            #expect(value < bound)
            if bound <= 1000 { seen[Int(value)] += 1 }
        }
        if bound <= 10 {
            // Roughly uniform: every bucket within 15 % of its share.
            let share = 20_000 / Int(bound)
            for count in seen { #expect(abs(count - share) < share * 15 / 100) }
        }
    }

    @Test func shuffleIsAPermutationAndReproducible() {
        var a = SeededRandom(seed: 9)
        var b = SeededRandom(seed: 9)
        let items = Array(0..<100)
        let x = a.shuffled(items)
        #expect(x.sorted() == items)
        #expect(x != items)
        #expect(x == b.shuffled(items))
    }

    @Test func forksAreIndependentButReproducible() {
        var parent1 = SeededRandom(seed: 5)
        var parent2 = SeededRandom(seed: 5)
        var child1 = parent1.fork()
        var child2 = parent2.fork()
        #expect(child1.next() == child2.next())
        #expect(parent1.next() != child1.next())
    }
}

@Suite("Policy expressions")
struct PolicyExprTests {
    let tenant = try! TenantID("acme")
    let east = try! Region("cn-east")

    @Test func aPoolAcceptsOnlyTheSectorsItLists() {
        let policy = PolicyExpr.sectorIn([.finance, .healthcare])
        #expect(policy.accepts(sector: .finance, tenant: tenant, region: east))
        #expect(!policy.accepts(sector: .manufacturing, tenant: tenant, region: east))
    }

    @Test func expressionsCombine() throws {
        let blocked = try TenantID("blocked-co")
        let policy = PolicyExpr.all([.sectorIn([.finance]), .not(.tenantIn([blocked]))])
        #expect(policy.accepts(sector: .finance, tenant: tenant, region: east))
        #expect(!policy.accepts(sector: .finance, tenant: blocked, region: east))
        #expect(PolicyExpr.all([]).accepts(sector: .finance, tenant: tenant, region: east))
        #expect(!PolicyExpr.any([]).accepts(sector: .finance, tenant: tenant, region: east))
        #expect(!PolicyExpr.refuseAll.accepts(sector: .finance, tenant: tenant, region: east))
    }

    @Test func depthCountsNestingLevels() {
        #expect(PolicyExpr.acceptAll.depth == 1)
        #expect(PolicyExpr.not(.all([.acceptAll, .not(.refuseAll)])).depth == 4)
    }
}
