import Foundation
import MeshCore
import MeshPlacement
import MeshSim
import Testing

/// The federation simulator: whole NodeCores under tenants' traffic and every fault, with the
/// oracles of SPEC §6.6.12 checked after each run.
@Suite("Federation simulation")
struct FederationSimulationTests {
    /// Seeds swept in `swift test`; `MESH_FED_SIM_SEEDS` widens the sweep, `MESH_SIM_SEED` replays
    /// one (`mesh-bench sim --scenario federation --seed N` replays it in release, with the same
    /// verdict).
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["MESH_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["MESH_FED_SIM_SEEDS"].flatMap(Int.init) ?? 3
        return (1...UInt64(max(1, count))).map { $0 }
    }

    static func quick(seed: UInt64) -> FederationSimConfig { .quick(seed: seed) }

    @Test(.timeLimit(.minutes(3)), arguments: seeds)
    func wholeNodesUnderEveryFaultBreakNoOracle(seed: UInt64) {
        let report = FederationSimulation.run(Self.quick(seed: seed))
        #expect(report.violations.isEmpty, "replay with MESH_SIM_SEED=\(seed): \(report)")
        for oracle in FederationSimReport.oracles {
            #expect(report.checks[oracle, default: 0] > 0, "oracle \(oracle) was never checked: \(report)")
        }
        #expect(report.placed > 100, "\(report)")
        #expect(report.retries > 0 && report.renewals > 0 && report.releases > 0, "\(report)")
        #expect(report.crashes + report.haltsAndCrashesAfterCommit > 0, "crashes must be exercised: \(report)")
        #expect(report.partitions > 0, "partitions must be exercised: \(report)")
        #expect(report.inDoubtResumed > 0, "retries of requests in doubt must be exercised: \(report)")
    }

    @Test(.timeLimit(.minutes(3)))
    func theMarketConfigurationPlacesAtThreeTimesCapacityWithoutOverCommit() {
        let report = FederationSimulation.run(.market(seed: 7, keys: 1_500))
        #expect(report.violations.isEmpty, "\(report)")
        #expect(report.placed > 0)
        #expect(
            report.finalRefusals["insufficient-capacity", default: 0] + report.finalRefusals["no-candidates", default: 0] > 0,
            "demand at 3x capacity must be refused sometimes: \(report)")
        // Issue 5 asks for at most 1.3 quote rounds per placement over a million requests
        // (BENCHMARKS.md); a small run varies more, so the guard here is looser.
        #expect(report.attemptsPerSuccess <= 1.4, "\(report)")
        #expect(report.forwards > 0, "spillover must be exercised: \(report)")
    }

    @Test(.timeLimit(.minutes(3)))
    func oneSeedReproducesTheRun() {
        var config = Self.quick(seed: 99)
        config.safetyMilliseconds = 8_000
        config.quietMilliseconds = 20_000
        let a = FederationSimulation.run(config)
        let b = FederationSimulation.run(config)
        #expect(a.description == b.description)
        #expect(a.messages > 0)
    }
}
