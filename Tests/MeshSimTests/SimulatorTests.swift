import MeshCore
import MeshNode
import MeshWire
import Testing

@testable import MeshSim

#if canImport(Glibc)
    import Glibc
#endif

/// Seeds for the sweep: `MESH_SIM_SEED=<seed>` replays one; `MESH_SIM_SEEDS=<count>` sweeps more
/// than the CI default.
enum SeedSweep {
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    static func seeds(defaultCount: Int) -> [UInt64] {
        if let one = environment("MESH_SIM_SEED").flatMap(UInt64.init) { return [one] }
        let count = environment("MESH_SIM_SEEDS").flatMap(Int.init) ?? defaultCount
        return (1...UInt64(Swift.max(count, 1))).map { $0 &* 0x9E37_79B9 }
    }
}

@Suite("Simulator")
struct SimulatorTests {
    @Test func sameSeedReplaysTheSameRun() {
        let a = SimScenarios.chaos(seed: 42, n: 8, boundMilliseconds: 60_000)
        let b = SimScenarios.chaos(seed: 42, n: 8, boundMilliseconds: 60_000)
        #expect(a.dropped == b.dropped)
        #expect(a.membershipConvergeMilliseconds == b.membershipConvergeMilliseconds)
        #expect(a.inventoryConvergeMilliseconds == b.inventoryConvergeMilliseconds)
        let c = SimScenarios.chaos(seed: 43, n: 8, boundMilliseconds: 60_000)
        #expect(a.dropped != c.dropped)
    }

    @Test func everyFrameGoesThroughTheRealCodec() {
        let sim = Simulator(count: 10, seed: 1, nodeConfig: SimPreset.computeMesh.nodeConfig)
        sim.run(until: MeshInstant(milliseconds: 10_000))
        #expect(sim.violation == nil)
        #expect((sim.traffic.framesByType["PROBE"] ?? 0) > 50)
        #expect((sim.traffic.framesByType["PROBE_ACK"] ?? 0) > 50)
        #expect((sim.traffic.framesByType["DIGEST"] ?? 0) > 50)
        #expect(sim.traffic.totalBytes == sim.sentBytes.reduce(0, +))
        #expect(sim.unconverged().isEmpty)
    }

    @Test func crashedNodeIsDeclaredDeadAndRestartRejoinsAtAHigherIncarnation() {
        let sim = Simulator(count: 12, seed: 7, nodeConfig: SimPreset.computeMesh.nodeConfig)
        sim.run(until: MeshInstant(milliseconds: 3_000))
        sim.crash(5)
        sim.run(until: MeshInstant(milliseconds: 60_000))
        #expect(sim.violation == nil)
        #expect(sim.unconverged().isEmpty)
        #expect(sim.node(0)?.gossip.membership.member(sim.ids[5])?.status == .dead)
        sim.restart(5)
        sim.run(until: MeshInstant(milliseconds: 90_000))
        #expect(sim.violation == nil)
        #expect(sim.unconverged().isEmpty)
        #expect((sim.node(0)?.gossip.membership.member(sim.ids[5])?.incarnation ?? 0) >= 1)
    }

    @Test func gracefulLeaveIsNotAFailure() {
        let sim = Simulator(count: 10, seed: 3, nodeConfig: SimPreset.computeMesh.nodeConfig)
        sim.run(until: MeshInstant(milliseconds: 2_000))
        sim.with(4) { core, rng, now in core.handle(.stop, now: now, rng: &rng) }
        sim.run(until: MeshInstant(milliseconds: 6_000))
        for i in 0..<10 where i != 4 { #expect(sim.node(i)?.gossip.membership.member(sim.ids[4])?.status == .left) }
    }

    @Test func partitionHealsWithoutResurrection() {
        let run = SimScenarios.partitionHeal(
            n: 40, partitionMilliseconds: 120_000, boundMilliseconds: 60_000, seed: 11, preset: .computeMesh)
        #expect(run.violation == nil, "\(run.violation.map(\.description) ?? "")")
        #expect(run.convergeMilliseconds != nil)
    }

    @Test func idleTrafficIsMeasuredOnlyOnceTheLastChangesHaveSpread() {
        let run = SimScenarios.bandwidth(
            regions: 1, perRegion: 40, changeIntervalMilliseconds: 5_000, busyMilliseconds: 10_000, idleMilliseconds: 5_000,
            seed: 3, waitForConvergence: true)
        #expect(run.violation == nil, "\(run.violation.map(\.description) ?? "")")
        let seconds = try! #require(run.convergenceSeconds)
        #expect(seconds >= 0 && seconds <= 140)
        #expect(run.convergedFraction == 1)
        // Converged inventory: what is left is one digest, one probe and one ack a second per node.
        #expect(run.idleBytesPerSecondPerNode < 1_000)
    }

    @Test func disseminationReachesEveryNode() {
        let run = SimScenarios.dissemination(n: 200, lossPermille: 10, seed: 5, preset: .computeMesh)
        #expect(run.violation == nil)
        #expect(run.informed == run.live)
        #expect((run.rounds ?? .max) <= 12)
    }

    /// Synchronous (no time limit needed): the default sweep takes seconds; `MESH_SIM_SEEDS=1000`
    /// takes as long as it takes.
    @Test func seedSweepKeepsInvariantsAndConvergesAfterHealing() {
        for seed in SeedSweep.seeds(defaultCount: 6) {
            let run = SimScenarios.chaos(seed: seed)
            #expect(run.passed, "\(run)")
        }
    }
}
