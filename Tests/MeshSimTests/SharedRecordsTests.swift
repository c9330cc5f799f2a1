import MeshCore
import MeshNode
import Testing

@testable import MeshSim

/// Sharing decoded inventory records between simulated nodes saves memory only: the run, every
/// byte sent and every record held are the same with it on and off.
@Suite("Simulator: shared decoded records")
struct SharedRecordsTests {
    /// Six nodes issue a descriptor and then availability changes; returns the simulator.
    func run(sharing: Bool) -> Simulator {
        let sim = Simulator(count: 6, seed: 7, nodeConfig: SimPreset.computeMesh.nodeConfig)
        sim.sharesDecodedRecords = sharing
        let horizon = MeshInstant(milliseconds: 1 << 40)
        for round in 0..<4 {
            for i in 0..<sim.count {
                let pool = try! ComputeID(owner: sim.ids[i], path: ["pool"])
                let body: RecordBody =
                    round == 0
                    ? .descriptor(
                        PoolDescriptor(
                            id: pool, architecture: .x86_64, accelerators: [], computeUnits: 100, memoryMiB: 1024,
                            interconnect: .ethernet, pricePerUnitHour: Price(microYuan: 10), residency: try! Region("sim-r0"),
                            certifications: [], greenEnergyPermille: 0))
                    : .availability(
                        PoolAvailability(
                            id: pool, freeComputeUnits: UInt64(round * 10 + i), freeMemoryMiB: 1, freeAccelerators: [],
                            pricePerUnitHour: Price(microYuan: 10)))
                let record = InventoryRecord(
                    origin: sim.ids[i], epoch: sim.epoch(of: i), sequence: UInt64(round + 1), issuedAt: sim.now,
                    validUntil: horizon, body: body, signature: Array(repeating: UInt8(i), count: 64))
                sim.with(i) { core, rng, now in core.issue(record, now: now) }
            }
            sim.run(until: sim.now + .milliseconds(5_000))
        }
        return sim
    }

    @Test func sharingChangesNeitherTrafficNorWhatNodesHold() {
        let shared = run(sharing: true)
        let separate = run(sharing: false)
        #expect(shared.violation == nil && separate.violation == nil)
        #expect(shared.sentBytes == separate.sentBytes)
        #expect(shared.traffic == separate.traffic)
        for i in 0..<shared.count {
            for origin in shared.ids {
                #expect(
                    shared.node(i)!.gossip.inventory.records(of: origin) == separate.node(i)!.gossip.inventory.records(of: origin)
                )
            }
        }
        // Every node converged on all four records' newest versions.
        #expect(shared.node(0)!.gossip.inventory.version(of: shared.ids[5]).sequence == 4)
    }

    @Test func nodesHoldingTheSameRecordShareOneCopy() {
        let sim = run(sharing: true)
        let origin = sim.ids[5]
        // Nodes 1 to 4 received node 5's newest record by gossip: one stored copy between them.
        let copies = (1...4).compactMap { sim.node($0)!.gossip.inventory.records(of: origin).last }
        #expect(copies.count == 4)
        #expect(copies.allSatisfy { $0.sharesStorage(with: copies[0]) })
        let separate = run(sharing: false)
        let apart = (1...4).compactMap { separate.node($0)!.gossip.inventory.records(of: origin).last }
        #expect(!apart[1].sharesStorage(with: apart[0]))
    }
}
