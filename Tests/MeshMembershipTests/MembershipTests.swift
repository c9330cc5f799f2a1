import MeshCore
import Testing

@testable import MeshMembership

@Suite("Membership: SWIM + Lifeguard core")
struct MembershipTests {
    var rng = SeededRandom(seed: 7)

    /// Runs the core's own timers until `until`, following its schedule requests.
    mutating func run(_ core: inout Membership, from: UInt64, until: UInt64) -> [MembershipDirective] {
        var all: [MembershipDirective] = []
        var now = from
        while now <= until {
            let out = core.onTick(now: Fixture.at(now), rng: &rng)
            all += out
            let next = out.scheduled?.milliseconds ?? until + 1
            now = Swift.max(next, now + 1)
        }
        return all
    }

    @Test mutating func suspectIsRefutedByHigherIncarnation() {
        var core = Fixture.core(members: 3)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 0, status: .suspect)], now: Fixture.at(10), rng: &rng)
        #expect(core.member(Fixture.id(2))?.status == .suspect)
        let out = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 1, status: .alive)], now: Fixture.at(20), rng: &rng)
        #expect(core.member(Fixture.id(2))?.status == .alive)
        #expect(core.member(Fixture.id(2))?.incarnation == 1)
        #expect(out.changes.map(\.status) == [.alive])
    }

    @Test mutating func aliveAtTheSameIncarnationDoesNotClearASuspicion() {
        var core = Fixture.core(members: 3)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 4, status: .suspect), Fixture.update(2, incarnation: 4)],
            now: Fixture.at(10), rng: &rng)
        #expect(core.member(Fixture.id(2))?.status == .suspect)
    }

    @Test mutating func nodeRefutesSuspicionAboutItselfAndPersistsItsIncarnation() {
        var core = Fixture.core(members: 3)
        let out = core.onProbe(
            from: Fixture.id(2), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(1, incarnation: 5, status: .suspect)], now: Fixture.at(10), rng: &rng)
        #expect(core.me.incarnation == 6)
        #expect(out.contains(.persistIncarnation(6)))
        #expect(core.localHealth == 1)
        // The ack carries the new incarnation back to the prober.
        let acks = out.sent.compactMap { if case .probeAck(let a) = $0.0 { return a.incarnation } else { return nil } }
        #expect(acks == [6])
    }

    @Test mutating func silentMemberGoesThroughIndirectProbesToSuspicionToDeath() {
        var core = Fixture.core(members: 5)
        let first = core.onTick(now: .zero, rng: &rng)
        let target = try! #require(first.probes.first?.target)
        // Nobody answers: at the probe timeout, k helpers are asked.
        let atTimeout = core.onTick(now: Fixture.at(500), rng: &rng)
        #expect(atTimeout.indirectProbes.count == 3)
        #expect(atTimeout.indirectProbes.allSatisfy { $0.target == target && $0.helper != target })
        // At the end of the period the target becomes suspect.
        let atPeriod = core.onTick(now: Fixture.at(1000), rng: &rng)
        #expect(atPeriod.changes.contains { $0.node == target && $0.status == .suspect })
        let deadline = try! #require(core.suspicionDeadline(of: target))
        // Three nacks missing raised local health to 3; Lifeguard starts at the ceiling:
        // 1 · max(1, log10 5) · 1 s · (3 + 1) · 9 = 36 s.
        #expect(core.localHealth == 3)
        #expect(deadline == Fixture.at(1000 + 36_000))
        let later = run(&core, from: 1001, until: 1000 + 36_000)
        #expect(later.changes.contains { $0.node == target && $0.status == .dead })
        #expect(later.contains(.disconnect(target)))
    }

    @Test mutating func aDirectAckIsTimedFromTheProbeAndCountedOnce() throws {
        var core = Fixture.core(members: 5)
        let target = try #require(core.onTick(now: Fixture.at(1_000), rng: &rng).probes.first?.target)
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(1_003), rng: &rng)
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(1_009), rng: &rng)
        #expect(core.probeRoundTrips.direct.count == 1, "a repeated ack is not a second round trip")
        #expect(core.probeRoundTrips.direct.sum == 0.003)
        #expect(core.probeRoundTrips.indirect.count == 0)
        // An ack for a member this node did not probe (relayed for a helper, say) is not timed.
        let other = [Fixture.id(2), Fixture.id(3), Fixture.id(4), Fixture.id(5)].first { $0 != target }!
        _ = core.onProbeAck(target: other, incarnation: 0, updates: [], now: Fixture.at(1_010), rng: &rng)
        #expect(core.probeRoundTrips.direct.count == 1)
    }

    @Test mutating func aMembersLatestDirectRoundTripIsKeptWhileItIsLive() throws {
        var core = Fixture.core(members: 5)
        let target = try #require(core.onTick(now: Fixture.at(1_000), rng: &rng).probes.first?.target)
        #expect(core.roundTrip(of: target) == nil, "nothing measured before the ack")
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(1_003), rng: &rng)
        #expect(core.roundTrip(of: target) == .milliseconds(3))
        let n = try #require((2...5).first { Fixture.id(UInt64($0)) == target })
        let others = (2...5).map { Fixture.id(UInt64($0)) }.filter { $0 != target }
        #expect(others.allSatisfy { core.roundTrip(of: $0) == nil })
        #expect(core.roundTrip(of: Fixture.id(1)) == nil, "no round trip to oneself")
        // A newer fact about a live member keeps its round trip (issue 17).
        _ = core.onProbe(
            from: others[0], fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(UInt64(n), incarnation: 1, status: .suspect)], now: Fixture.at(1_100), rng: &rng)
        #expect(core.roundTrip(of: target) == .milliseconds(3))
        // A dead member's round trip is dropped.
        _ = core.onProbe(
            from: others[0], fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(UInt64(n), incarnation: 2, status: .dead)], now: Fixture.at(1_200), rng: &rng)
        #expect(core.member(target)?.status == .dead)
        #expect(core.roundTrip(of: target) == nil)
    }

    @Test mutating func anIndirectAckLeavesNoRoundTripForTheMember() throws {
        var core = Fixture.core(members: 5)
        let target = try #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        #expect(!core.onTick(now: Fixture.at(500), rng: &rng).indirectProbes.isEmpty)
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(700), rng: &rng)
        #expect(core.roundTrip(of: target) == nil)
    }

    @Test mutating func anAckAfterIndirectProbesIsTimedAsIndirectFromTheFirstProbe() throws {
        var core = Fixture.core(members: 5)
        let target = try #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        #expect(!core.onTick(now: Fixture.at(500), rng: &rng).indirectProbes.isEmpty)
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(700), rng: &rng)
        #expect(core.probeRoundTrips.indirect.count == 1 && core.probeRoundTrips.indirect.sum == 0.7)
        #expect(core.probeRoundTrips.direct.count == 0)
    }

    @Test mutating func ackFromHelperKeepsTheTargetAlive() {
        var core = Fixture.core(members: 5)
        let target = try! #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        _ = core.onTick(now: Fixture.at(500), rng: &rng)
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(700), rng: &rng)
        let out = core.onTick(now: Fixture.at(1000), rng: &rng)
        #expect(!out.changes.contains { $0.node == target })
        #expect(core.member(target)?.status == .alive)
    }

    @Test func suspicionTimeoutShrinksLogarithmicallyWithConfirmations() {
        let timeouts = (0...4).map {
            Membership.suspicionTimeout(minMilliseconds: 12_000, maxMilliseconds: 72_000, confirmations: $0, expected: 3)
        }
        #expect(timeouts[0] == 72_000)
        // max − (max − min) · log(2)/log(4) = 72 − 60 · 0.5 = 42 s.
        #expect(timeouts[1] == 42_000)
        #expect(timeouts[2] > 12_000 && timeouts[2] < timeouts[1])
        #expect(timeouts[3] == 12_000)
        #expect(timeouts[4] == 12_000)
    }

    @Test mutating func dogpileConfirmationsCountOnlyIndependentSources() {
        var core = Fixture.core(members: 1000)
        let suspect = Fixture.update(2, status: .suspect)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: Fixture.at(0), rng: &rng)
        // n = 1000, healthy: floor 1 · 3 · 1 s = 3 s, ceiling 9 · 3 s = 27 s.
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(27_000))
        // The originator repeating itself is not a confirmation.
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: Fixture.at(10), rng: &rng)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(27_000))
        // One confirmation of three: 27 − 24 · log 2 / log 4 = 15 s.
        _ = core.onProbe(
            from: Fixture.id(4), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: Fixture.at(20), rng: &rng)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(15_000))
        _ = core.onProbe(
            from: Fixture.id(4), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: Fixture.at(30), rng: &rng)
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(15_000))
        for source: UInt64 in [5, 6] {
            _ = core.onProbe(
                from: Fixture.id(source), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: Fixture.at(40),
                rng: &rng)
        }
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(3_000))
    }

    @Test mutating func plainSWIMWaitsAFixedSuspicionTimeout() {
        var core = Fixture.core(members: 1000, config: .plainSWIM)
        let suspect = Fixture.update(2, status: .suspect)
        for source: UInt64 in [3, 4, 5, 6] {
            _ = core.onProbe(
                from: Fixture.id(source), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: .zero, rng: &rng)
        }
        #expect(core.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(12_000))
    }

    @Test mutating func probeOfASuspectCarriesTheBuddyNotice() {
        var core = Fixture.core(members: 2)
        _ = core.onProbe(
            from: Fixture.id(2), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 3, status: .suspect)], now: .zero, rng: &rng)
        let probe = try! #require(core.onTick(now: .zero, rng: &rng).probes.first)
        #expect(probe.target == Fixture.id(2))
        #expect(probe.updates.contains(Fixture.update(2, incarnation: 3, status: .suspect)))
        #expect(probe.updates.first == core.me)
    }

    @Test mutating func gracefulLeaveIsRecordedAsLeftNotDead() {
        var leaver = Fixture.core(members: 4)
        let out = leaver.leave(now: Fixture.at(100), rng: &rng)
        #expect(leaver.me.status == .left)
        #expect(out.contains(.persistIncarnation(1)))
        let announced = out.probes.flatMap(\.updates)
        #expect(announced.contains(leaver.me))
        // A leaver no longer probes.
        #expect(leaver.onTick(now: Fixture.at(5000), rng: &rng).probes.allSatisfy { $0.updates.contains(leaver.me) })

        var peer = Membership(me: Fixture.update(2), config: Fixture.config, initialMembers: [Fixture.update(1)], now: .zero)
        _ = peer.onProbe(
            from: Fixture.id(1), fromIncarnation: 1, target: Fixture.id(2), updates: [leaver.me], now: Fixture.at(200), rng: &rng)
        #expect(peer.member(Fixture.id(1))?.status == .left)
        // Left members are never rejoined or probed.
        let later = run(&peer, from: 201, until: 120_000)
        #expect(later.probes.allSatisfy { $0.target != Fixture.id(1) })
    }

    @Test mutating func deadMemberIsNotResurrectedAtTheSameIncarnation() {
        var core = Fixture.core(members: 3)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 3, status: .dead)], now: .zero, rng: &rng)
        #expect(core.member(Fixture.id(2))?.status == .dead)
        for status in [MemberStatus.alive, .suspect] {
            _ = core.onProbe(
                from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
                updates: [Fixture.update(2, incarnation: 3, status: status)], now: Fixture.at(10), rng: &rng)
            #expect(core.member(Fixture.id(2))?.status == .dead)
        }
        // An ack at the same incarnation is no proof either.
        _ = core.onProbeAck(target: Fixture.id(2), incarnation: 3, updates: [], now: Fixture.at(20), rng: &rng)
        #expect(core.member(Fixture.id(2))?.status == .dead)
        _ = core.onProbeAck(target: Fixture.id(2), incarnation: 4, updates: [], now: Fixture.at(30), rng: &rng)
        #expect(core.member(Fixture.id(2))?.status == .alive)
        #expect(core.member(Fixture.id(2))?.incarnation == 4)
    }

    @Test mutating func tombstonesExpire() {
        var config = Fixture.config
        config.tombstoneMilliseconds = 10_000
        var core = Fixture.core(members: 3, config: config)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 3, status: .left)], now: .zero, rng: &rng)
        _ = run(&core, from: 1, until: 9_000)
        #expect(core.member(Fixture.id(2))?.status == .left)
        _ = run(&core, from: 9_001, until: 12_000)
        #expect(core.member(Fixture.id(2)) == nil)
    }

    @Test mutating func rejoinProbesCarryTheDeathNoticeWithBackoff() {
        var core = Fixture.core(members: 3)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 2, status: .dead)], now: .zero, rng: &rng)
        let out = run(&core, from: 1, until: 60_000)
        let rejoins = out.probes.filter { $0.target == Fixture.id(2) }
        #expect(rejoins.count >= 3 && rejoins.count <= 8)
        #expect(rejoins.allSatisfy { $0.updates.contains(Fixture.update(2, incarnation: 2, status: .dead)) })
    }

    @Test mutating func missingNacksRaiseLocalHealthMoreThanAFailedProbe() {
        var withNacks = Fixture.core(members: 5)
        var withoutNacks = Fixture.core(members: 5)
        var rngA = SeededRandom(seed: 1)
        var rngB = SeededRandom(seed: 1)
        let target = try! #require(withNacks.onTick(now: .zero, rng: &rngA).probes.first?.target)
        _ = withoutNacks.onTick(now: .zero, rng: &rngB)
        let helpers = withNacks.onTick(now: Fixture.at(500), rng: &rngA).indirectProbes
        _ = withoutNacks.onTick(now: Fixture.at(500), rng: &rngB)
        for helper in helpers {
            _ = withNacks.onNack(helper: helper.helper, target: target, now: Fixture.at(900), rng: &rngA)
        }
        _ = withNacks.onTick(now: Fixture.at(1000), rng: &rngA)
        _ = withoutNacks.onTick(now: Fixture.at(1000), rng: &rngB)
        // memberlist's awareness: every helper's nack says the target alone is silent (no change);
        // each missing nack costs one point.
        #expect(withNacks.localHealth == 0)
        #expect(withoutNacks.localHealth == 3)
    }

    @Test mutating func localHealthStretchesTheProbePeriod() {
        var core = Fixture.core(members: 5)
        core.localHealth = 3
        let out = core.onTick(now: .zero, rng: &rng)
        #expect(out.probes.count == 1)
        #expect(core.nextProbeAt == Fixture.at(4000))
    }

    @Test mutating func helperRelaysAckOrSendsNack() {
        var helper = Fixture.core(members: 4)
        let requester = Fixture.id(2)
        let target = Fixture.id(3)
        let out = helper.onIndirectProbe(
            from: requester, target: target, targetAddress: Fixture.update(3).address, wantsNack: true, updates: [],
            now: .zero, rng: &rng)
        #expect(out.probes.map(\.target) == [target])
        let relayed = helper.onProbeAck(target: target, incarnation: 2, updates: [], now: Fixture.at(100), rng: &rng)
        #expect(
            relayed.sent.contains {
                $0.1 == requester && $0.0 == .probeAck(ProbeAck(target: target, incarnation: 2, updates: []))
            })

        var silent = Fixture.core(members: 4)
        _ = silent.onIndirectProbe(
            from: requester, target: target, targetAddress: Fixture.update(3).address, wantsNack: true, updates: [],
            now: .zero, rng: &rng)
        let nacks = silent.onTick(now: Fixture.at(400), rng: &rng).sent
        #expect(nacks.contains { $0.1 == requester && $0.0 == .nack(Nack(helper: Fixture.id(1), target: target)) })
    }

    @Test mutating func refusedConnectionIsAStrongSignal() {
        var core = Fixture.core(members: 1000)
        let target = try! #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        let out = core.onProbeFailure(target, failure: .connectionRefused, now: Fixture.at(5), rng: &rng)
        #expect(out.indirectProbes.count == 3)
        _ = core.onTick(now: Fixture.at(1000), rng: &rng)
        // The suspicion waits only its floor, not the ceiling: 3 s at n = 1000, stretched by the
        // local health the three missing nacks raised to 3: 3 s · 4 = 12 s.
        #expect(core.localHealth == 3)
        #expect(core.suspicionDeadline(of: target) == Fixture.at(1000 + 12_000))

        var weak = Fixture.core(members: 1000)
        let weakTarget = try! #require(weak.onTick(now: .zero, rng: &rng).probes.first?.target)
        #expect(weak.onProbeFailure(weakTarget, failure: .timeout, now: Fixture.at(5), rng: &rng).indirectProbes.isEmpty)
    }

    @Test mutating func updatesAreRetransmittedAtMostTheLimit() {
        var config = Fixture.config
        config.recentRepeatCount = 0
        var core = Fixture.core(members: 9, config: config)  // n = 9: limit 4 · ⌈log10 10⌉ = 4
        let first = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 1)], now: .zero, rng: &rng)
        let out = first + run(&core, from: 0, until: 10_000)
        let carried = out.sent.filter {
            switch $0.0 {
            case .probe(let p): p.updates.contains(Fixture.update(2, incarnation: 1))
            case .probeAck(let a): a.updates.contains(Fixture.update(2, incarnation: 1))
            default: false
            }
        }
        #expect(carried.count == 4)
    }

    @Test mutating func recentChangesKeepRidingOnProbesUntilTheWindowCloses() {
        var core = Fixture.core(members: 9)
        _ = core.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1),
            updates: [Fixture.update(2, incarnation: 1)], now: .zero, rng: &rng)
        let fact = Fixture.update(2, incarnation: 1)
        // Every member answers, so nothing else changes.
        func answered(from: UInt64, until: UInt64) -> Int {
            var carried = 0
            var now = from
            while now <= until {
                let out = core.onTick(now: Fixture.at(now), rng: &rng)
                for probe in out.probes {
                    if probe.updates.contains(fact) { carried += 1 }
                    let incarnation = probe.target == Fixture.id(2) ? UInt64(1) : 0
                    _ = core.onProbeAck(
                        target: probe.target, incarnation: incarnation, updates: [], now: Fixture.at(now + 5), rng: &rng)
                }
                now = Swift.max(out.scheduled?.milliseconds ?? until + 1, now + 1)
            }
            return carried
        }
        // Beyond the 4 counted transmissions, probes keep carrying the recent fact...
        #expect(answered(from: 0, until: 29_000) > 10)
        // ...until the 30 s window closes.
        #expect(answered(from: 30_001, until: 60_000) == 0)
    }

    @Test mutating func newsRidesOnProbesAndAcksAheadOfChurn() {
        var core = Fixture.core(members: 400)
        let moved = learnNewsThenChurn(&core)
        // Spend every counted transmission, so that only the repeats of recent facts remain.
        while !core.takeUpdates(limit: 64).isEmpty {}
        var carried = 0
        for k in UInt64(0)..<20 {
            let out = core.onProbe(
                from: Fixture.id(8), fromIncarnation: 0, target: Fixture.id(1), updates: [], now: Fixture.at(10 + k),
                rng: &rng)
            for (message, _) in out.sent {
                if case .probeAck(let a) = message, a.updates.contains(moved) { carried += 1 }
            }
        }
        // 256 churn entries would carry it about 20 · 2/256 times; as news, every ack does.
        #expect(carried == 20)
    }

    /// Node 1 (of 400) learns that node 2 moved to a new address (news), then that nodes
    /// 100..<400 were suspected and refuted (churn: 300 refutations of suspicions held here, queued
    /// behind the news and newer than it). Returns the news.
    mutating func learnNewsThenChurn(_ core: inout Membership) -> MemberUpdate {
        var moved = Fixture.update(2, incarnation: 1)
        moved.address = NetAddress(host: "10.0.0.2", port: 7947)
        _ = core.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: [moved], now: .zero, rng: &rng)
        for n in UInt64(100)..<400 {
            var suspect = Fixture.update(n, status: .suspect)
            suspect.suspectedBy = Fixture.id(9)
            _ = core.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: [suspect], now: Fixture.at(1), rng: &rng)
            _ = core.onProbeAck(
                target: Fixture.id(9), incarnation: 0, updates: [Fixture.update(n, incarnation: 1)], now: Fixture.at(2),
                rng: &rng)
        }
        return moved
    }

    @Test mutating func newsKeepsItsSlotsWhenTheQueueOfChurnFillsEveryMessage() {
        var core = Fixture.core(members: 400)
        let moved = learnNewsThenChurn(&core)
        #expect(core.pendingBroadcastCount > 64)
        var carried = 0
        for k in UInt64(0)..<4 {
            let out = core.onProbe(
                from: Fixture.id(8), fromIncarnation: 0, target: Fixture.id(1), updates: [], now: Fixture.at(10 + k),
                rng: &rng)
            for (message, _) in out.sent {
                if case .probeAck(let a) = message {
                    let updates = a.updates
                    #expect(updates.count == 64, "every ack is full")
                    if updates.contains(moved) { carried += 1 }
                }
            }
        }
        #expect(carried == 4)
    }

    @Test mutating func directProbeIsSentAgainBesideTheIndirectProbes() {
        var core = Fixture.core(members: 5)
        let target = try! #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        let atTimeout = core.onTick(now: Fixture.at(500), rng: &rng)
        #expect(atTimeout.indirectProbes.count == 3)
        #expect(atTimeout.probes.map(\.target) == [target])
        // The retry's ack counts like the first one's.
        _ = core.onProbeAck(target: target, incarnation: 0, updates: [], now: Fixture.at(520), rng: &rng)
        #expect(!core.onTick(now: Fixture.at(1000), rng: &rng).changes.contains { $0.node == target })

        var plain = Fixture.core(members: 5, config: .plainSWIM)
        _ = plain.onTick(now: .zero, rng: &rng)
        #expect(plain.onTick(now: Fixture.at(500), rng: &rng).probes.isEmpty)
    }

    @Test mutating func ownSuspicionIsSentToTheSuspectAtOnceAndItsRefutingAckClearsIt() {
        var loud = Fixture.config
        loud.gossipFanout = 0  // only the notice can reach the suspect at this instant
        var core = Fixture.core(members: 5, config: loud)
        let target = try! #require(core.onTick(now: .zero, rng: &rng).probes.first?.target)
        _ = core.onTick(now: Fixture.at(500), rng: &rng)
        let atPeriod = core.onTick(now: Fixture.at(1000), rng: &rng)
        let suspect = try! #require(atPeriod.changes.first { $0.node == target && $0.status == .suspect })
        #expect(atPeriod.probes.contains { $0.target == target && $0.updates.contains(suspect) })
        // The member refutes (incarnation 1) and its ack carries the new incarnation.
        _ = core.onProbeAck(target: target, incarnation: 1, updates: [], now: Fixture.at(1010), rng: &rng)
        #expect(core.member(target)?.status == .alive)
        #expect(core.member(target)?.incarnation == 1)

        // Without the notice (memberlist; gossip off here to isolate it) the suspect hears nothing
        // until its next turn to be probed.
        var config = Fixture.config
        config.immediateSuspectNotice = false
        config.gossipFanout = 0
        var quiet = Fixture.core(members: 5, config: config)
        let other = try! #require(quiet.onTick(now: .zero, rng: &rng).probes.first?.target)
        _ = quiet.onTick(now: Fixture.at(500), rng: &rng)
        let later = quiet.onTick(now: Fixture.at(1000), rng: &rng)
        #expect(later.changes.contains { $0.node == other && $0.status == .suspect })
        #expect(!later.probes.contains { $0.target == other })
    }

    @Test mutating func suspicionFloorStretchesWithLocalHealth() {
        let suspect = Fixture.update(2, status: .suspect)
        var healthy = Fixture.core(members: 1000)
        _ = healthy.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: .zero, rng: &rng)
        var unhealthy = Fixture.core(members: 1000)
        unhealthy.localHealth = 2
        _ = unhealthy.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: .zero, rng: &rng)
        // Ceiling 27 s when healthy; three times that at local health 2.
        #expect(healthy.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(27_000))
        #expect(unhealthy.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(81_000))
        // memberlist does not stretch it: 4 · 3 · 1 s · 6 = 72 s.
        var memberlist = Fixture.core(members: 1000, config: .memberlistLAN)
        memberlist.localHealth = 2
        _ = memberlist.onProbe(
            from: Fixture.id(3), fromIncarnation: 0, target: Fixture.id(1), updates: [suspect], now: .zero, rng: &rng)
        #expect(memberlist.suspicionDeadline(of: Fixture.id(2)) == Fixture.at(72_000))
    }

    @Test mutating func gossipCarriesUpToTheConfiguredNumberOfUpdates() {
        var core = Fixture.core(members: 200)
        let facts = (2...101).map { Fixture.update(UInt64($0), incarnation: 1) }
        _ = core.onProbe(
            from: Fixture.id(150), fromIncarnation: 0, target: Fixture.id(1), updates: Array(facts[0..<50]), now: .zero, rng: &rng
        )
        _ = core.onProbe(
            from: Fixture.id(151), fromIncarnation: 0, target: Fixture.id(1), updates: Array(facts[50...]), now: .zero, rng: &rng)
        let gossip = core.onTick(now: Fixture.at(1), rng: &rng).sent.compactMap { sent -> Int? in
            if case .probe(let p) = sent.0 { return p.updates.count }
            return nil
        }
        #expect(gossip.max() == 64)
        #expect(gossip.allSatisfy { $0 <= 64 })
    }

    @Test mutating func suspicionsYieldToRefutationsAndOtherFacts() {
        var config = Fixture.config
        config.maxPiggybackedUpdates = 2
        config.recentRepeatCount = 0
        var core = Fixture.core(members: 20, config: config)
        // Two refutations of suspicions this node holds arrive first, then three (newer, never
        // sent) suspicions.
        let refuted = [Fixture.update(2, status: .suspect), Fixture.update(3, status: .suspect)]
        let refutations = [Fixture.update(2, incarnation: 1), Fixture.update(3, incarnation: 1)]
        let suspicions = (4...6).map { Fixture.update(UInt64($0), status: .suspect) }
        _ = core.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: refuted, now: .zero, rng: &rng)
        _ = core.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: refutations, now: .zero, rng: &rng)
        _ = core.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: suspicions, now: .zero, rng: &rng)
        #expect(core.takeUpdates(limit: 2) == refutations.reversed())
        // Suspicions only fill the room the other facts leave, whatever their transmit counts.
        #expect(Set(core.takeUpdates(limit: 3)) == Set(refutations + [suspicions[2]]))
        // memberlist orders by transmissions only: the newest, unsent suspicions go first.
        config.suspicionsYield = false
        var plain = Fixture.core(members: 20, config: config)
        _ = plain.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: refutations, now: .zero, rng: &rng)
        _ = plain.onProbeAck(target: Fixture.id(9), incarnation: 0, updates: suspicions, now: .zero, rng: &rng)
        #expect(plain.takeUpdates(limit: 2).allSatisfy { $0.status == .suspect })
    }
}
