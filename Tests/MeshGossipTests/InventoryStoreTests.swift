import MeshCore
import Testing

@testable import MeshGossip

enum GossipFixture {
    static func node(_ n: UInt64) -> NodeID { NodeID(w0: n &* 0x9E37_79B9_7F4A_7C15, w1: n, w2: 0, w3: 0) }
    static func pool(_ origin: UInt64, _ k: Int) -> ComputeID { try! ComputeID(owner: node(origin), path: ["pool\(k)"]) }
    static let region = try! Region("cn-east")

    static func availability(
        _ origin: UInt64, seq: UInt64, pool k: Int = 0, epoch: UInt64 = 1, free: UInt64 = 10
    ) -> InventoryRecord {
        InventoryRecord(
            origin: node(origin), epoch: epoch, sequence: seq, issuedAt: MeshInstant(milliseconds: seq),
            validUntil: MeshInstant(milliseconds: 1_000_000),
            body: .availability(
                PoolAvailability(
                    id: pool(origin, k), freeComputeUnits: free, freeMemoryMiB: 1024, freeAccelerators: [],
                    pricePerUnitHour: Price(microYuan: 1000))))
    }

    static func descriptor(_ origin: UInt64, seq: UInt64, pool k: Int = 0, epoch: UInt64 = 1) -> InventoryRecord {
        InventoryRecord(
            origin: node(origin), epoch: epoch, sequence: seq, issuedAt: MeshInstant(milliseconds: seq),
            validUntil: MeshInstant(milliseconds: 1_000_000),
            body: .descriptor(
                PoolDescriptor(
                    id: pool(origin, k), architecture: .x86_64, accelerators: [], computeUnits: 100, memoryMiB: 4096,
                    interconnect: .ethernet, pricePerUnitHour: Price(microYuan: 2000), residency: region, certifications: [],
                    greenEnergyPermille: 500)))
    }

    static func tombstone(_ origin: UInt64, seq: UInt64, pool k: Int = 0) -> InventoryRecord {
        InventoryRecord(
            origin: node(origin), epoch: 1, sequence: seq, issuedAt: MeshInstant(milliseconds: seq),
            validUntil: MeshInstant(milliseconds: 1_000_000), body: .tombstone(pool(origin, k)))
    }

    /// A mixed history: several origins, descriptors, availability changes and a tombstone.
    static var history: [InventoryRecord] {
        var out: [InventoryRecord] = []
        for origin: UInt64 in 1...6 {
            out.append(descriptor(origin, seq: 1))
            out.append(descriptor(origin, seq: 2, pool: 1))
            for seq: UInt64 in 3...6 { out.append(availability(origin, seq: seq, pool: Int(seq % 2), free: seq)) }
        }
        out.append(tombstone(3, seq: 7, pool: 1))
        return out
    }
}

struct RejectOrigin: RecordVerifier {
    var origin: NodeID
    func verify(_ record: InventoryRecord) -> Bool { record.origin != origin }
    func verify(_ summary: RegionSummary) -> Bool { true }
}

@Suite("Gossip: inventory store")
struct InventoryStoreTests {
    let now = MeshInstant(milliseconds: 100)

    /// A compact fingerprint of the records held: (origin's first word, sequence) pairs.
    func state(_ store: InventoryStore) -> [[UInt64]] {
        store.origins.map { origin in store.records(of: origin).flatMap { [origin.w1, $0.sequence, $0.epoch] } }
    }

    @Test func mergeIsCommutative() {
        var rng = SeededRandom(seed: 11)
        var reference = InventoryStore(config: .computeMesh)
        reference.merge(GossipFixture.history, now: now, complete: false)
        for _ in 0..<20 {
            // Pushes may arrive in any order: the records held end up the same.
            var store = InventoryStore(config: .computeMesh)
            store.merge(rng.shuffled(GossipFixture.history), now: now, complete: false)
            #expect(state(store) == state(reference))
            // A complete answer to a digest then brings the versions together too.
            store.merge(GossipFixture.history, now: now, complete: true)
            var completed = reference
            completed.merge(GossipFixture.history, now: now, complete: true)
            #expect(store.versions == completed.versions)
            #expect(store.digestHashes == completed.digestHashes)
        }
    }

    @Test func mergeIsIdempotent() {
        var store = InventoryStore(config: .computeMesh)
        let fresh = store.merge(GossipFixture.history, now: now, complete: true)
        let snapshot = state(store)
        let again = store.merge(GossipFixture.history, now: now, complete: true)
        #expect(fresh > 0)
        #expect(again == 0)
        #expect(state(store) == snapshot)
        #expect(store.duplicateCount == GossipFixture.history.count + (GossipFixture.history.count - fresh))
    }

    @Test func versionsNeverGoBackwards() {
        var rng = SeededRandom(seed: 5)
        var store = InventoryStore(config: .computeMesh)
        var last: [NodeID: RecordVersion] = [:]
        for record in rng.shuffled(GossipFixture.history + GossipFixture.history) {
            store.merge([record], now: now, complete: rng.chance(permille: 500))
            for entry in store.versions {
                let v = RecordVersion(epoch: entry.epoch, sequence: entry.sequence)
                #expect(v >= last[entry.origin] ?? .zero)
                last[entry.origin] = v
            }
        }
    }

    @Test func newerRecordSupersedesOnlyItsOwnKind() {
        var store = InventoryStore(config: .computeMesh)
        store.merge([GossipFixture.descriptor(1, seq: 1), GossipFixture.availability(1, seq: 2)], now: now, complete: true)
        store.merge([GossipFixture.availability(1, seq: 3, free: 7)], now: now, complete: true)
        let records = store.records(of: GossipFixture.node(1))
        #expect(records.map(\.sequence) == [1, 3])
        // An older availability arriving late is stale.
        #expect(store.merge([GossipFixture.availability(1, seq: 2)], now: now, complete: false) == 0)
    }

    @Test func tombstoneSupersedesThePoolAndIsCollectedAfterTheHorizon() {
        var config = GossipConfig.computeMesh
        config.tombstoneHorizonMilliseconds = 1000
        var store = InventoryStore(config: config)
        store.merge([GossipFixture.descriptor(1, seq: 1), GossipFixture.availability(1, seq: 2)], now: now, complete: true)
        store.merge([GossipFixture.tombstone(1, seq: 3)], now: now, complete: true)
        #expect(store.records(of: GossipFixture.node(1)).map(\.sequence) == [3])
        #expect(store.liveRecords(now: now).isEmpty)
        // A late descriptor below the tombstone does not resurrect the pool.
        #expect(store.merge([GossipFixture.descriptor(1, seq: 1)], now: now, complete: false) == 0)
        store.expire(now: MeshInstant(milliseconds: 2000))
        #expect(store.records(of: GossipFixture.node(1)).isEmpty)
        #expect(store.version(of: GossipFixture.node(1)) == RecordVersion(epoch: 1, sequence: 3))
        #expect(store.merge([GossipFixture.availability(1, seq: 2)], now: now, complete: false) == 0)
    }

    @Test func higherEpochResetsTheOriginsLog() {
        var store = InventoryStore(config: .computeMesh)
        store.merge([GossipFixture.descriptor(1, seq: 1), GossipFixture.availability(1, seq: 9)], now: now, complete: true)
        store.merge([GossipFixture.descriptor(1, seq: 1, epoch: 2)], now: now, complete: true)
        #expect(store.records(of: GossipFixture.node(1)).map(\.epoch) == [2])
        #expect(store.version(of: GossipFixture.node(1)) == RecordVersion(epoch: 2, sequence: 1))
        #expect(store.merge([GossipFixture.availability(1, seq: 10)], now: now, complete: true) == 0)
    }

    @Test func recordsFailingVerificationAreRefused() {
        var store = InventoryStore(config: .computeMesh, verifier: RejectOrigin(origin: GossipFixture.node(2)))
        store.merge([GossipFixture.descriptor(1, seq: 1), GossipFixture.descriptor(2, seq: 1)], now: now, complete: true)
        #expect(store.originCount == 1)
        #expect(store.rejected[.badSignature] == 1)
    }

    @Test func expiredRecordsAreRefusedAndDropped() {
        var store = InventoryStore(config: .computeMesh)
        store.merge([GossipFixture.descriptor(1, seq: 1)], now: now, complete: true)
        #expect(
            store.merge([GossipFixture.descriptor(2, seq: 1)], now: MeshInstant(milliseconds: 2_000_000), complete: true) == 0)
        #expect(store.rejected[.expired] == 1)
        store.expire(now: MeshInstant(milliseconds: 1_000_000))
        #expect(store.liveRecords(now: now).isEmpty)
    }

    @Test func digestSizeDoesNotGrowWithOrigins() {
        var store = InventoryStore(config: .computeMesh)
        for origin: UInt64 in 1...3000 { store.merge([GossipFixture.descriptor(origin, seq: 1)], now: now, complete: true) }
        #expect(store.digestHashes.count == 64)
        #expect(store.originCount == 3000)
    }

    @Test func entriesAreListedOnlyForDifferingBuckets() {
        var a = InventoryStore(config: .computeMesh)
        var b = InventoryStore(config: .computeMesh)
        for origin: UInt64 in 1...200 {
            a.merge([GossipFixture.descriptor(origin, seq: 1)], now: now, complete: true)
            b.merge([GossipFixture.descriptor(origin, seq: 1)], now: now, complete: true)
        }
        #expect(a.differingBuckets(b.digestHashes).isEmpty)
        a.merge([GossipFixture.availability(77, seq: 2)], now: now, complete: true)
        let differing = b.differingBuckets(a.digestHashes)
        #expect(differing == [InventoryStore.bucket(of: GossipFixture.node(77), count: 64)])
        let entries = b.entries(inBuckets: differing)
        #expect(entries.contains { $0.origin == GossipFixture.node(77) })
        #expect(entries.count < 20)
    }

    @Test func deltaIsInVersionOrderAndCutToTheBudget() {
        var rng = SeededRandom(seed: 3)
        var a = InventoryStore(config: .computeMesh)
        a.merge(GossipFixture.history, now: now, complete: true)
        let all = Array(0..<64)
        let (full, moreFull) = a.delta(forPeerEntries: [], buckets: all, maxBytes: 1 << 20, rng: &rng)
        #expect(!moreFull)
        // Each origin holds 4 current records (1, 2, 5, 6); origin 3's tombstone (7) replaced 2 and 5.
        #expect(full.count == 5 * 4 + 3)
        var byOrigin: [NodeID: UInt64] = [:]
        for record in full {
            #expect(record.sequence > byOrigin[record.origin] ?? 0)
            byOrigin[record.origin] = record.sequence
        }
        let sizer = EstimatingSizer()
        let budget = 600
        let (cut, more) = a.delta(forPeerEntries: [], buckets: all, maxBytes: budget, rng: &rng)
        #expect(more)
        #expect(!cut.isEmpty)
        #expect(cut.reduce(0) { $0 + sizer.encodedBytes($1) } <= budget)
        // A peer that already holds an origin's version gets nothing of it.
        let entries = a.versions
        #expect(a.delta(forPeerEntries: entries, buckets: all, maxBytes: 1 << 20, rng: &rng).records.isEmpty)
    }

    @Test func antiEntropyConvergesUnderASmallBudget() {
        var rng = SeededRandom(seed: 9)
        var a = InventoryStore(config: .computeMesh)
        var b = InventoryStore(config: .computeMesh)
        // Partial histories, as pushes would leave them (not complete prefixes).
        a.merge(Array(GossipFixture.history.prefix(20)), now: now, complete: false)
        b.merge(Array(GossipFixture.history.suffix(20)), now: now, complete: false)
        var rounds = 0
        while !a.differingBuckets(b.digestHashes).isEmpty, rounds < 50 {
            rounds += 1
            let buckets = a.differingBuckets(b.digestHashes)
            let fromA = a.delta(forPeerEntries: b.entries(inBuckets: buckets), buckets: buckets, maxBytes: 500, rng: &rng)
            let fromB = b.delta(forPeerEntries: a.entries(inBuckets: buckets), buckets: buckets, maxBytes: 500, rng: &rng)
            b.merge(fromA.records, now: now, complete: true)
            a.merge(fromB.records, now: now, complete: true)
        }
        #expect(rounds > 1)
        #expect(state(a) == state(b))
        var reference = InventoryStore(config: .computeMesh)
        reference.merge(GossipFixture.history, now: now, complete: true)
        #expect(state(a) == state(reference))
    }

    @Test func pushesStopAfterTheirTransmissionsOrOnDuplicates() {
        var store = InventoryStore(config: .computeMesh)
        store.issue(GossipFixture.descriptor(1, seq: 1), now: now)
        #expect(store.takePush(maxBytes: 4096).count == 1)
        #expect(store.takePush(maxBytes: 4096).count == 1)
        // A duplicate arrives: the node loses interest.
        store.merge([GossipFixture.descriptor(1, seq: 1)], now: now, complete: false)
        #expect(store.takePush(maxBytes: 4096).isEmpty)
        #expect(store.hotCount == 0)
    }

    @Test func regionSummaryBookKeepsTheNewest() {
        var book = RegionSummaryBook()
        let records = GossipFixture.history
        let s1 = RegionSummaryBook.summarize(
            region: GossipFixture.region, origin: GossipFixture.node(1), version: 1, records: records, nodeCount: 6, now: now,
            validity: .seconds(60))
        var s2 = s1
        s2.version = 2
        #expect(book.merge([s2], now: now).count == 1)
        #expect(book.merge([s1], now: now).isEmpty)
        #expect(book.summary(of: GossipFixture.region)?.version == 2)
        #expect(s1.poolCount == 12)
        book.expire(now: now + .seconds(61))
        #expect(book.summaries.isEmpty)
    }

    @Test func regionSummariesCountAcceleratorsPerClassTotalAndFree() throws {
        func pool(_ k: Int, _ groups: [AcceleratorGroup], free: [UInt32]?) -> [InventoryRecord] {
            let id = GossipFixture.pool(1, k)
            var out = [
                InventoryRecord(
                    origin: GossipFixture.node(1), epoch: 1, sequence: UInt64(2 * k + 1), issuedAt: now,
                    validUntil: now + .seconds(60),
                    body: .descriptor(
                        PoolDescriptor(
                            id: id, architecture: .x86_64, accelerators: groups, computeUnits: 100, memoryMiB: 1,
                            interconnect: .ethernet, pricePerUnitHour: Price(microYuan: 1), residency: GossipFixture.region,
                            certifications: [], greenEnergyPermille: 0)))
            ]
            if let free {
                out.append(
                    InventoryRecord(
                        origin: GossipFixture.node(1), epoch: 1, sequence: UInt64(2 * k + 2), issuedAt: now,
                        validUntil: now + .seconds(60),
                        body: .availability(
                            PoolAvailability(
                                id: id, freeComputeUnits: 50, freeMemoryMiB: 1, freeAccelerators: free,
                                pricePerUnitHour: Price(microYuan: 1)))))
            }
            return out
        }
        let h800 = try AcceleratorGroup(kind: .gpu, vendor: "nvidia", model: "h800", count: 8, memoryMiBPerDevice: 81_920)
        let ascend = try AcceleratorGroup(
            kind: .npu, vendor: "huawei", model: "ascend-910b", count: 16, memoryMiBPerDevice: 65_536)
        // Two pools share the H800 class (one with availability, one without: all free); one has NPUs.
        let records = pool(0, [h800, ascend], free: [3, 10]) + pool(1, [h800], free: nil)
        let s = RegionSummaryBook.summarize(
            region: GossipFixture.region, origin: GossipFixture.node(1), version: 1, records: records, nodeCount: 1, now: now,
            validity: .seconds(60))
        #expect(s.accelerators.map(\.model) == ["h800", "ascend-910b"])  // gpu (code 1) before npu (code 2)
        #expect(s.accelerators.first { $0.model == "h800" }.map { ($0.total, $0.free) } ?? (0, 0) == (16, 11))
        #expect(s.accelerators.first { $0.model == "ascend-910b" }.map { ($0.total, $0.free) } ?? (0, 0) == (16, 10))
    }

    @Test func digestEntriesAreBoundedToWholeBuckets() {
        var rng = SeededRandom(seed: 4)
        var store = InventoryStore(config: .computeMesh)
        for origin: UInt64 in 1...1000 { store.merge([GossipFixture.descriptor(origin, seq: 1)], now: now, complete: true) }
        let (entries, buckets) = store.entries(selectingFrom: Array(0..<64), rng: &rng)
        #expect(entries.count <= 38)
        #expect(!buckets.isEmpty)
        // Every origin of a selected bucket is listed, and no other.
        let listed = Set(entries.map(\.origin))
        for origin in store.origins {
            let selected = buckets.contains(InventoryStore.bucket(of: origin, count: 64))
            #expect(listed.contains(origin) == selected)
        }
    }
}
