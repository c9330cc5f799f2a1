import Foundation
import MeshCore
import Testing

@testable import MeshStore

/// A fresh temporary directory per test, removed when the test ends.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "meshstore-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var ledger: String { path + "/ledger.sqlite" }
}

enum StoreFixture {
    static let owner = NodeID(w0: 2, w1: 0, w2: 0, w3: 0)
    static let requester = NodeID(w0: 1, w1: 0, w2: 0, w3: 0)
    static let pool = PoolDescriptor(
        id: try! ComputeID(owner: owner, path: ["gpu", "hall-1"]), architecture: .x86_64,
        accelerators: [try! AcceleratorGroup(kind: .gpu, vendor: "nvidia", model: "h800", count: 8, memoryMiBPerDevice: 81920)],
        computeUnits: 100, memoryMiB: 1 << 20, interconnect: .nvlink, pricePerUnitHour: Price(microYuan: 1_500_000),
        residency: try! Region("cn-east"), certifications: [try! Certification("finance-grade")], greenEnergyPermille: 620,
        policy: .any([.sectorIn([.finance]), .not(.tenantIn([try! TenantID("blocked")]))]), displayName: "Hall 1")

    static func hold(_ n: UInt128, units: UInt64 = 5, expiresAt: UInt64 = 2_000) -> Hold {
        Hold(
            holdID: HoldID(value: n), requestID: RequestID(value: n), requester: requester, pool: pool.id,
            tenant: try! TenantID("acme"), computeUnits: units, memoryMiB: 1024, acceleratorCount: 1, acceleratorGroup: 0,
            pricePerUnitHour: Price(microYuan: 1_500_000), createdAt: .zero, expiresAt: MeshInstant(milliseconds: expiresAt))
    }

    static func lease(from hold: Hold, _ n: UInt128, key: String) -> ActiveLease {
        ActiveLease(
            lease: Lease(
                leaseID: LeaseID(value: n), holdID: hold.holdID, pool: hold.pool, tenant: hold.tenant,
                computeUnits: hold.computeUnits,
                memoryMiB: hold.memoryMiB, acceleratorCount: hold.acceleratorCount, pricePerUnitHour: hold.pricePerUnitHour,
                startsAt: MeshInstant(milliseconds: 10), expiresAt: MeshInstant(milliseconds: 60_010)),
            acceleratorGroup: hold.acceleratorGroup, requester: hold.requester, requestID: hold.requestID, idempotencyKey: key)
    }
}

@Suite("Ledger store")
struct LedgerStoreTests {
    @Test func theLedgerRunsWithWALAndFullSync() throws {
        let dir = TempDir()
        let store = try SQLiteLedgerStore(path: dir.ledger)
        #expect(try store.journalMode() == "wal")
        #expect(try store.synchronousLevel() == 2)
    }

    @Test func aReopenedLedgerIsExactlyWhatWasCommitted() throws {
        let dir = TempDir()
        let h1 = StoreFixture.hold(1)
        let h2 = StoreFixture.hold(2)
        let h3 = StoreFixture.hold(3)
        let l1 = StoreFixture.lease(from: h1, 11, key: "k1")
        var expected: LedgerSnapshot
        do {
            let store = try SQLiteLedgerStore(path: dir.ledger)
            try store.commit(
                [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1))], ledgerVersion: 1,
                at: .zero)
            try store.commit([.holdPlaced(h1), .holdPlaced(h2), .holdPlaced(h3)], ledgerVersion: 2, at: .zero)
            try store.commit([.leaseStarted(l1), .holdReleased(h2.holdID)], ledgerVersion: 3, at: MeshInstant(milliseconds: 10))
            try store.commit(
                [.leaseRenewed(l1.lease.leaseID, expiresAt: MeshInstant(milliseconds: 90_000))], ledgerVersion: 4,
                at: MeshInstant(milliseconds: 20))
            expected = try store.load()
        }
        let reopened = try SQLiteLedgerStore(path: dir.ledger)
        let state = try reopened.load()
        #expect(state == expected)
        #expect(state.ledgerVersion == 4)
        #expect(state.pools.map(\.descriptor) == [StoreFixture.pool])
        #expect(state.holds.map(\.holdID) == [h3.holdID])
        #expect(state.leases.count == 1)
        #expect(state.leases[0].lease.expiresAt == MeshInstant(milliseconds: 90_000))
        #expect(state.leases[0].idempotencyKey == "k1")
        let audit = try reopened.audit(limit: 100)
        #expect(
            audit.map(\.kind) == [
                "pool-registered", "hold-placed", "hold-placed", "hold-placed", "lease-started", "hold-released", "lease-renewed",
            ])
    }

    @Test func anInconsistentBatchIsRefusedWholeAndChangesNothing() throws {
        let dir = TempDir()
        let store = try SQLiteLedgerStore(path: dir.ledger)
        let h1 = StoreFixture.hold(1)
        try store.commit(
            [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1)), .holdPlaced(h1)],
            ledgerVersion: 1, at: .zero)
        let before = try store.load()
        // The first entry is fine, the second names a hold that does not exist.
        #expect(throws: StoreError.self) {
            try store.commit([.holdPlaced(StoreFixture.hold(2)), .holdExpired(HoldID(value: 99))], ledgerVersion: 2, at: .zero)
        }
        #expect(try store.load() == before)
        // One hold can never become two leases.
        try store.commit([.leaseStarted(StoreFixture.lease(from: h1, 10, key: "a"))], ledgerVersion: 2, at: .zero)
        #expect(throws: StoreError.self) {
            try store.commit([.leaseStarted(StoreFixture.lease(from: h1, 11, key: "b"))], ledgerVersion: 3, at: .zero)
        }
        #expect(try store.load().leases.count == 1)
    }

    @Test func inMemoryAndSQLiteAgreeOnRandomBatches() throws {
        let dir = TempDir()
        let sqlite = try SQLiteLedgerStore(path: dir.ledger)
        var memory = InMemoryLedgerStore()
        var rng = SeededRandom(seed: 5)
        let register: [LedgerChange] = [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1))]
        try sqlite.commit(register, ledgerVersion: 1, at: .zero)
        try memory.commit(register, ledgerVersion: 1, at: .zero)
        var holds: [Hold] = []
        var leases: [ActiveLease] = []
        var next: UInt128 = 1
        for version in 2..<300 as Range<UInt64> {
            var batch: [LedgerChange] = []
            for _ in 0..<(1 + rng.next(below: 3)) {
                switch rng.next(below: 5) {
                case 0, 1:
                    let h = StoreFixture.hold(next, units: 1 + rng.next(below: 9))
                    next += 1
                    holds.append(h)
                    batch.append(.holdPlaced(h))
                case 2 where !holds.isEmpty:
                    let h = holds.remove(at: rng.index(below: holds.count))
                    let l = StoreFixture.lease(from: h, next, key: "k\(next)")
                    next += 1
                    leases.append(l)
                    batch.append(.leaseStarted(l))
                case 3 where !holds.isEmpty:
                    batch.append(.holdExpired(holds.remove(at: rng.index(below: holds.count)).holdID))
                case 4 where !leases.isEmpty:
                    batch.append(.leaseReleased(leases.remove(at: rng.index(below: leases.count)).lease.leaseID))
                default: break
                }
            }
            try sqlite.commit(batch, ledgerVersion: version, at: MeshInstant(milliseconds: version))
            try memory.commit(batch, ledgerVersion: version, at: MeshInstant(milliseconds: version))
        }
        #expect(try sqlite.load() == memory.load())
        #expect(try sqlite.load().holds.count == holds.count)
        #expect(try sqlite.load().leases.count == leases.count)
    }

    @Test func batchesCommittedTogetherAreOneTransactionAndKeepTheLastVersionAndIncarnation() throws {
        let dir = TempDir()
        let store = try SQLiteLedgerStore(path: dir.ledger)
        let h1 = StoreFixture.hold(1)
        try store.commit(
            [
                PersistBatch(
                    changes: [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1))],
                    ledgerVersion: 1),
                PersistBatch(incarnation: 7),
                PersistBatch(changes: [.holdPlaced(h1)], ledgerVersion: 2),
            ], at: .zero)
        #expect(try store.load().ledgerVersion == 2)
        #expect(try store.load().holds == [h1])
        #expect(try store.incarnation() == 7)
        // A group with one bad batch changes nothing, the good batches before it included.
        #expect(throws: StoreError.self) {
            try store.commit(
                [
                    PersistBatch(changes: [.holdPlaced(StoreFixture.hold(2))], ledgerVersion: 3, incarnation: 8),
                    PersistBatch(changes: [.holdExpired(HoldID(value: 99))], ledgerVersion: 4),
                ], at: .zero)
        }
        #expect(try store.load().holds == [h1])
        #expect(try store.load().ledgerVersion == 2)
        #expect(try store.incarnation() == 7)
    }

    @Test func aLeaseKeepsItsAcknowledgementDeadlineUntilAcknowledgedAndAnAbandonedLeaseEnds() throws {
        let dir = TempDir()
        let store = try SQLiteLedgerStore(path: dir.ledger)
        var memory = InMemoryLedgerStore()
        let h1 = StoreFixture.hold(1)
        let h2 = StoreFixture.hold(2)
        var l1 = StoreFixture.lease(from: h1, 11, key: "k1")
        l1.acknowledgeBy = MeshInstant(milliseconds: 30_000)
        var l2 = StoreFixture.lease(from: h2, 12, key: "k2")
        l2.acknowledgeBy = MeshInstant(milliseconds: 30_000)
        let batches: [[LedgerChange]] = [
            [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1))],
            [.holdPlaced(h1), .holdPlaced(h2)],
            [.leaseStarted(l1), .leaseStarted(l2)],
            [.leaseReconfirmed(l1.lease.leaseID, acknowledgeBy: MeshInstant(milliseconds: 45_000))],
        ]
        for (i, batch) in batches.enumerated() {
            try store.commit(batch, ledgerVersion: UInt64(i + 1), at: .zero)
            try memory.commit(batch, ledgerVersion: UInt64(i + 1), at: .zero)
        }
        #expect(try store.load().leases.map(\.acknowledgeBy) == [45_000, 30_000].map { MeshInstant(milliseconds: $0) })
        let ack: [LedgerChange] = [.leaseAcknowledged(l1.lease.leaseID), .leaseAbandoned(l2.lease.leaseID)]
        try store.commit(ack, ledgerVersion: 5, at: .zero)
        try memory.commit(ack, ledgerVersion: 5, at: .zero)
        let reopened = try SQLiteLedgerStore(path: dir.ledger).load()
        #expect(reopened.leases.count == 1)
        #expect(reopened.leases[0].isAcknowledged)
        #expect(reopened == (try memory.load()))
        #expect(try store.allLeases().map(\.state) == [2, 5])
        #expect(try store.audit(limit: 2).map(\.kind) == ["lease-acknowledged", "lease-abandoned"])
    }

    @Test func aLedgerWrittenBeforeAcknowledgementsOpensWithItsLeasesAcknowledged() throws {
        let dir = TempDir()
        let h1 = StoreFixture.hold(1)
        do {
            let store = try SQLiteLedgerStore(path: dir.ledger)
            try store.commit(
                [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1)), .holdPlaced(h1)],
                ledgerVersion: 1, at: .zero)
            try store.commit([.leaseStarted(StoreFixture.lease(from: h1, 11, key: "k1"))], ledgerVersion: 2, at: .zero)
        }
        // The schema of the previous version: no acknowledge_by column.
        try SQLiteLedgerStore(path: dir.ledger).exec("ALTER TABLE leases DROP COLUMN acknowledge_by")
        let reopened = try SQLiteLedgerStore(path: dir.ledger)
        #expect(try reopened.load().leases.map(\.isAcknowledged) == [true])
        try reopened.commit([.leaseReleased(LeaseID(value: 11))], ledgerVersion: 3, at: .zero)
        #expect(try reopened.load().leases.isEmpty)
    }
}
