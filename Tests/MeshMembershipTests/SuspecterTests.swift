import MeshCore
import Testing

@testable import MeshMembership

/// Lifeguard confirmations count distinct suspecters (``MemberUpdate/suspectedBy``), not distinct
/// relayers of one suspicion; and a stale suspicion is answered with the refutation it missed.
@Suite("Membership: suspecters and stale suspicions")
struct SuspecterTests {
    var rng = SeededRandom(seed: 11)

    static func suspect(_ n: UInt64, incarnation: UInt64 = 0, by suspecter: UInt64) -> MemberUpdate {
        var update = Fixture.update(n, incarnation: incarnation, status: .suspect)
        update.suspectedBy = Fixture.id(suspecter)
        return update
    }

    /// Node 1 receives `updates` in a gossip push (a probe) from `source`; returns the ack's updates.
    mutating func push(_ core: inout Membership, from source: UInt64, _ updates: [MemberUpdate], at ms: UInt64) -> [MemberUpdate]
    {
        let out = core.onProbe(
            from: Fixture.id(source), fromIncarnation: 0, target: Fixture.id(1), updates: updates, now: Fixture.at(ms), rng: &rng)
        for (message, _) in out.sent {
            if case .probeAck(let a) = message { return a.updates }
        }
        return []
    }

    @Test mutating func relayedCopiesOfOneSuspicionDoNotConfirmIt() {
        var core = Fixture.core(members: 1000)
        // Node 3 suspects node 2; nodes 4...9 relay its suspicion.
        _ = push(&core, from: 3, [Self.suspect(2, by: 3)], at: 0)
        for relay: UInt64 in 4...9 { _ = push(&core, from: relay, [Self.suspect(2, by: 3)], at: relay) }
        // n = 1000: floor 3 s, ceiling 27 s; no confirmation, so the ceiling stands.
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(27_000))
    }

    @Test mutating func distinctSuspectersConfirmWhoeverRelaysThem() {
        var core = Fixture.core(members: 1000)
        // The first copy arrives through a relay: its suspecter (3) is the originator, not node 7.
        _ = push(&core, from: 7, [Self.suspect(2, by: 3)], at: 0)
        _ = push(&core, from: 8, [Self.suspect(2, by: 3)], at: 5)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(27_000))
        // Suspecter 4, relayed by node 7 (which already relayed suspecter 3): one confirmation.
        _ = push(&core, from: 7, [Self.suspect(2, by: 4)], at: 10)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(15_000))
        // The same suspecter again, through another relay: nothing new.
        _ = push(&core, from: 9, [Self.suspect(2, by: 4)], at: 20)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(15_000))
        _ = push(&core, from: 9, [Self.suspect(2, by: 5), Self.suspect(2, by: 6)], at: 30)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(3_000))
    }

    @Test mutating func aNewConfirmationIsGossipedOnWithItsSuspecter() {
        var core = Fixture.core(members: 1000)
        _ = push(&core, from: 3, [Self.suspect(2, by: 3)], at: 0)
        // Drain the first suspicion's retransmissions.
        while !core.takeUpdates(limit: 64).isEmpty {}
        _ = push(&core, from: 9, [Self.suspect(2, by: 4)], at: 10)
        #expect(core.takeUpdates(limit: 64) == [Self.suspect(2, by: 4)])
        // A relayed copy of a suspecter already counted is not sent on again.
        while !core.takeUpdates(limit: 64).isEmpty {}
        _ = push(&core, from: 8, [Self.suspect(2, by: 4)], at: 20)
        #expect(core.takeUpdates(limit: 64).isEmpty)
    }

    @Test mutating func ownFailedProbeNamesThisNodeAsTheSuspecter() {
        var core = Fixture.core(members: 5)
        let target = try! #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        _ = core.onTick(now: Fixture.at(500), rng: &rng)
        let atPeriod = core.onTick(now: Fixture.at(1000), rng: &rng)
        let suspect = try! #require(atPeriod.changes.first { $0.node == target && $0.status == .suspect })
        #expect(suspect.suspectedBy == Fixture.id(1))
        // The buddy notice to the suspect carries it too.
        #expect(atPeriod.probes.contains { $0.target == target && $0.updates.contains(suspect) })
    }

    @Test mutating func deathAndRefutationFromASuspicionCarryNoSuspecter() {
        var core = Fixture.core(members: 1000)
        _ = push(&core, from: 3, [Self.suspect(2, by: 3)], at: 0)
        _ = push(&core, from: 4, [Self.suspect(5, by: 4)], at: 0)
        // Node 5 proves itself alive at a higher incarnation by acking.
        let alive = core.onProbeAck(target: Fixture.id(5), incarnation: 1, updates: [], now: Fixture.at(10), rng: &rng)
        #expect(alive.changes == [Fixture.update(5, incarnation: 1)])
        var dead: [MemberUpdate] = []
        var now: UInt64 = 20
        while now <= 27_000 {
            let out = core.onTick(now: Fixture.at(now), rng: &rng)
            dead += out.changes.filter { $0.status == .dead && ($0.node == Fixture.id(2) || $0.node == Fixture.id(5)) }
            now = Swift.max(out.scheduled?.milliseconds ?? now + 1, now + 1)
        }
        #expect(dead == [Fixture.update(2, status: .dead)])
    }

    @Test mutating func aStaleSuspicionInAPushIsAnsweredWithTheRefutation() {
        var core = Fixture.core(members: 10)
        // Node 2 refuted at incarnation 1; node 3 missed it and gossips its old suspicion.
        _ = push(&core, from: 4, [Fixture.update(2, incarnation: 1)], at: 0)
        while !core.takeUpdates(limit: 64).isEmpty {}
        let ack = push(&core, from: 3, [Self.suspect(2, by: 6)], at: 10)
        #expect(ack.first == Fixture.update(2, incarnation: 1))
        // A stale death is answered the same way; a current suspicion is not "stale".
        let afterDeath = push(&core, from: 3, [Fixture.update(2, status: .dead)], at: 20)
        #expect(afterDeath.first == Fixture.update(2, incarnation: 1))
        let current = push(&core, from: 3, [Self.suspect(2, incarnation: 1, by: 6)], at: 30)
        #expect(!current.contains(Fixture.update(2, incarnation: 1)))
    }

    @Test mutating func memberlistDoesNotAnswerStaleSuspicions() {
        var core = Fixture.core(members: 10, config: .memberlistLAN)
        _ = push(&core, from: 4, [Fixture.update(2, incarnation: 1)], at: 0)
        let ack = push(&core, from: 3, [Self.suspect(2, by: 6)], at: 10)
        #expect(!ack.contains(Fixture.update(2, incarnation: 1)))
    }

    @Test mutating func aStaleSuspicionInAnAckIsAnsweredWithAProbeCarryingTheRefutation() {
        var core = Fixture.core(members: 10)
        _ = push(&core, from: 4, [Fixture.update(2, incarnation: 1)], at: 0)
        // Node 3 acks one of our probes and still holds node 2's refuted suspicion.
        let out = core.onProbeAck(
            target: Fixture.id(3), incarnation: 0, updates: [Self.suspect(2, by: 6)], now: Fixture.at(10), rng: &rng)
        let back = out.probes.filter { $0.target == Fixture.id(3) }
        #expect(back.count == 1, "one probe goes back to the acker: \(out)")
        #expect(back.first?.updates.contains(Fixture.update(2, incarnation: 1)) == true)
        // An ack with nothing stale gets no answer.
        let quiet = core.onProbeAck(
            target: Fixture.id(3), incarnation: 0, updates: [Fixture.update(2, incarnation: 1)], now: Fixture.at(20), rng: &rng)
        #expect(quiet.probes.isEmpty)
    }

    @Test mutating func memberlistDoesNotAnswerStaleSuspicionsInAcks() {
        var core = Fixture.core(members: 10, config: .memberlistLAN)
        _ = push(&core, from: 4, [Fixture.update(2, incarnation: 1)], at: 0)
        let out = core.onProbeAck(
            target: Fixture.id(3), incarnation: 0, updates: [Self.suspect(2, by: 6)], now: Fixture.at(10), rng: &rng)
        #expect(out.probes.isEmpty)
    }

    @Test mutating func answersToManyStaleSuspicionsStayWithinTheWiresSixtyFourUpdates() {
        var core = Fixture.core(members: 100)
        let refuted = (UInt64(10)..<80).map { Fixture.update($0, incarnation: 1) }
        _ = push(&core, from: 4, refuted, at: 0)
        let stale = (UInt64(10)..<80).map { Self.suspect($0, by: 6) }
        let out = core.onProbeAck(target: Fixture.id(3), incarnation: 0, updates: stale, now: Fixture.at(10), rng: &rng)
        let back = try! #require(out.probes.first { $0.target == Fixture.id(3) })
        #expect(back.updates.count == 64)
        // A prober that is a tombstone here gets its death notice, but never beyond 64 updates.
        _ = push(&core, from: 4, [Fixture.update(3, status: .dead)], at: 20)
        let ack = push(&core, from: 3, stale, at: 30)
        #expect(ack.count <= 64)
    }
}
