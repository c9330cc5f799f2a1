import Foundation
import MeshCore
import MeshPlacement
import MeshSim
import Testing

@Suite("Placement simulation")
struct PlacementSimulationTests {
    /// Seeds swept in `swift test`; `MESH_PLACEMENT_SIM_SEEDS` and `MESH_PLACEMENT_SIM_ATTEMPTS`
    /// widen the sweep (e.g. 20 seeds × 50,000 attempts = one million), `MESH_SIM_SEED` replays one.
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["MESH_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["MESH_PLACEMENT_SIM_SEEDS"].flatMap(Int.init) ?? 2
        return (1...UInt64(max(1, count))).map { $0 }
    }

    static var attemptsPerSeed: Int {
        ProcessInfo.processInfo.environment["MESH_PLACEMENT_SIM_ATTEMPTS"].flatMap(Int.init) ?? 1_500
    }

    @Test(.timeLimit(.minutes(1)), arguments: seeds)
    func marketPlacementNeverOverCommitsAndEveryKeyEndsOnce(seed: UInt64) {
        let report = PlacementSimulation.run(PlacementSimConfig(seed: seed, attempts: Self.attemptsPerSeed))
        #expect(report.violations.isEmpty, "replay with MESH_SIM_SEED=\(seed): \(report)")
        #expect(report.attempts == Self.attemptsPerSeed)
        #expect(report.placed > 0)
        #expect(
            report.refused["insufficient-capacity", default: 0] + report.refused["no-candidates", default: 0] > 0,
            "demand at 3x capacity must be refused sometimes")
        // Every confirm is of a firm hold, so commits never retry.
        #expect(report.confirmsPerLease <= 1.3, "\(report)")
        // Attempts (quote rounds at every node a request visited) per placement: issue 5 asks for
        // at most 1.3; measured 1.20-1.23 over a million requests (BENCHMARKS.md). Small runs vary,
        // so the guard here is looser.
        #expect(report.attemptsPerSuccess <= 1.4, "\(report)")
        #expect(report.attemptsOfPlaced >= report.quoteRoundsOfPlaced, "the wire count covers every node's rounds")
        #expect(report.spreadRequests > 0 && report.spreadPlaced > 0, "spread demands must be exercised: \(report)")
        #expect(report.holdsLeftAtEnd == 0)
        #expect(report.maxInventoryAgeMilliseconds <= 2_000 + 1_000)
        #expect(report.forwards > 0, "spillover must be exercised")
    }

    @Test func oneSeedReproducesTheRun() {
        let a = PlacementSimulation.run(PlacementSimConfig(seed: 99, attempts: 300))
        let b = PlacementSimulation.run(PlacementSimConfig(seed: 99, attempts: 300))
        #expect(a.description == b.description)
        #expect(a.messages > 0)
    }
}
