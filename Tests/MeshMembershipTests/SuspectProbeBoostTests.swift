import MeshCore
import Testing

@testable import MeshMembership

/// ``MembershipConfig/suspectProbeBoost``: members that hear of a fresh suspicion probe the suspect
/// out of turn with probability `boost / (n − 1)`, so a crash collects its confirmations sooner.
@Suite("Membership: suspects probed sooner")
struct SuspectProbeBoostTests {
    var rng = SeededRandom(seed: 23)

    static func suspect(_ n: UInt64, by suspecter: UInt64) -> MemberUpdate {
        var update = Fixture.update(n, status: .suspect)
        update.suspectedBy = Fixture.id(suspecter)
        return update
    }

    /// Node 1 (of 10) hears in each period that another member is suspect and probes; returns the
    /// targets of the probes that open periods 1, 2 and 3.
    mutating func targets(config: MembershipConfig) -> [NodeID] {
        var core = Fixture.core(members: 10, config: config)
        var probed: [NodeID] = []
        var target = core.onTick(now: .zero, rng: &rng).probes.first?.target
        for (period, suspect): (UInt64, UInt64) in [(1, 4), (2, 7), (3, 9)] {
            if let target {
                _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(period * 1000 - 900), rng: &rng)
            }
            _ = core.onProbe(
                from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [Self.suspect(suspect, by: 3)],
                now: Fixture.at(period * 1000 - 500), rng: &rng)
            target = core.onTick(now: Fixture.at(period * 1000), rng: &rng).probes.first?.target
            probed += target.map { [$0] } ?? []
        }
        return probed
    }

    @Test mutating func aMemberThatHearsOfASuspicionProbesTheSuspectInItsNextPeriod() {
        var config = Fixture.config
        // Boost 9 of n − 1 = 9 peers: the chance is 1, so every fresh suspect is probed next.
        config.suspectProbeBoost = 9
        #expect(targets(config: config) == [Fixture.id(4), Fixture.id(7), Fixture.id(9)])
    }

    @Test mutating func withoutTheBoostTheRoundRobinOrderIsKept() {
        var config = Fixture.config
        config.suspectProbeBoost = 0
        // Round-robin visits each peer once per cycle: periods 1 to 3 are three distinct members of
        // a shuffled order, not the three suspects in the order they were heard.
        #expect(targets(config: config) != [Fixture.id(4), Fixture.id(7), Fixture.id(9)])
    }

    @Test mutating func ownSuspicionsAndConfirmationsDoNotTriggerTheBoost() {
        var config = Fixture.config
        config.suspectProbeBoost = 9
        var core = Fixture.core(members: 10, config: config)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [Self.suspect(4, by: 3)], now: .zero,
            rng: &rng)
        #expect(core.freshSuspects == [Fixture.id(4)])
        // A second suspecter of the same suspicion is a confirmation, not a fresh suspicion.
        _ = core.onProbe(
            from: Fixture.id(5), fromIncarnation: 0, target: Fixture.id(1), updates: [Self.suspect(4, by: 5)], now: .zero,
            rng: &rng)
        #expect(core.freshSuspects == [Fixture.id(4)])
        // This node's own suspicion (its probe failed) is not heard from another member.
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [Self.suspect(6, by: 1)], now: .zero,
            rng: &rng)
        #expect(core.freshSuspects == [Fixture.id(4)])
    }
}
