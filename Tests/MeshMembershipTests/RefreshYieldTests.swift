import MeshCore
import Testing

@testable import MeshMembership

/// ``MembershipConfig/refreshesYield``: a member's newer incarnation is news only where its old
/// fact was not plain "alive" (a suspicion held here, a death, a changed address); elsewhere it
/// waits behind news, as suspicions do.
@Suite("Membership: refreshes yield to news")
struct RefreshYieldTests {
    var rng = SeededRandom(seed: 5)

    /// One update per message and no repeats of recent facts, so the order of the queue shows.
    static func core(refreshesYield: Bool) -> Membership {
        var config = Fixture.config
        config.maxPiggybackedUpdates = 1
        config.recentRepeatCount = 0
        config.refreshesYield = refreshesYield
        return Fixture.core(members: 10, config: config)
    }

    /// Node 1 learns `updates` from an ack of node 9 (nothing is sent back).
    mutating func learn(_ core: inout Membership, _ updates: [MemberUpdate], at ms: UInt64) {
        _ = core.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: updates, now: Fixture.at(ms), rng: &rng)
    }

    /// The update node 1 piggybacks on its ack to a probe from node 8.
    mutating func nextSent(_ core: inout Membership, at ms: UInt64) -> [MemberUpdate] {
        let out = core.onProbe(
            from: Fixture.id(8), fromIncarnation: 0, target: Fixture.id(1), updates: [], now: Fixture.at(ms), rng: &rng)
        for (message, _) in out.sent {
            if case .probeAck(let a) = message { return a.updates }
        }
        return []
    }

    @Test mutating func aNewerIncarnationOfAMemberHeldAliveWaitsBehindAJoin() {
        var core = Self.core(refreshesYield: true)
        learn(&core, [Fixture.update(20)], at: 0)  // a join: news
        learn(&core, [Fixture.update(3, incarnation: 1)], at: 1)  // node 3 was alive at 0 here: a refresh
        #expect(nextSent(&core, at: 2) == [Fixture.update(20)])

        // Without the option the newest fact goes first, as before.
        var plain = Self.core(refreshesYield: false)
        learn(&plain, [Fixture.update(20)], at: 0)
        learn(&plain, [Fixture.update(3, incarnation: 1)], at: 1)
        #expect(nextSent(&plain, at: 2) == [Fixture.update(3, incarnation: 1)])
    }

    @Test mutating func aRefutationOfASuspicionHeldHereIsNewsAndGoesBeforeANewerRefresh() {
        var core = Self.core(refreshesYield: true)
        var suspect = Fixture.update(3, status: .suspect)
        suspect.suspectedBy = Fixture.id(9)
        learn(&core, [suspect], at: 0)
        learn(&core, [Fixture.update(3, incarnation: 1)], at: 1)  // refutes what node 1 holds: news
        learn(&core, [Fixture.update(4, incarnation: 1)], at: 2)  // a refresh, newer
        #expect(nextSent(&core, at: 3) == [Fixture.update(3, incarnation: 1)])
    }

    @Test mutating func aNewAddressAtANewerIncarnationIsNews() {
        var core = Self.core(refreshesYield: true)
        learn(&core, [Fixture.update(20)], at: 0)
        var moved = Fixture.update(3, incarnation: 1)
        moved.address = NetAddress(host: "10.0.0.3", port: 7947)
        learn(&core, [moved], at: 1)
        #expect(nextSent(&core, at: 2) == [moved])
    }
}
