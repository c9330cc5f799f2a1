import Foundation
import MeshCore
import Testing

@testable import MeshStore

/// The explanations a ledger keeps for the console's WHY across restarts (issue 14): bounded,
/// oldest forgotten first, restored oldest first, and added to ledgers written before they existed.
@Suite("Ledger store: explanations")
struct ExplanationStoreTests {
    static func explanation(_ n: UInt128, at ms: UInt64 = 1_000, chosen: Bool = true) -> Explanation {
        let pool = StoreFixture.pool.id
        return Explanation(
            requestID: RequestID(value: n), decidedBy: StoreFixture.requester, decidedAt: MeshInstant(milliseconds: ms),
            path: [StoreFixture.requester], consideredCount: 2, filteredCount: 1, scoredCount: 1,
            verdicts: [
                CandidateVerdict(
                    pool: pool, inventoryEpoch: 1, inventorySequence: UInt64(n), inventoryAge: .milliseconds(40),
                    outcome: .scored(ScoreVector(price: 10, latency: 20, green: 30, total: 60))),
                CandidateVerdict(
                    pool: try! ComputeID(owner: StoreFixture.owner, path: ["other"]), inventoryEpoch: 1, inventorySequence: 2,
                    inventoryAge: .milliseconds(90), outcome: .filtered(.residency, detail: "cn-west is not allowed")),
            ],
            chosen: chosen ? pool : nil)
    }

    @Test func theMostRecentNAreKeptAndTheOldestPrunedFirst() throws {
        let dir = TempDir()
        let store = try SQLiteLedgerStore(path: dir.ledger, explanationLimit: 3)
        var memory = InMemoryLedgerStore(explanationLimit: 3)
        // One group commit with two batches, then one explanation per commit.
        let first = [
            PersistBatch(explanations: [Self.explanation(1)]), PersistBatch(explanations: [Self.explanation(2)]),
        ]
        try store.commit(first, at: .zero)
        try memory.commit(first, at: .zero)
        for n in 3...7 as ClosedRange<UInt128> {
            try store.commit([PersistBatch(explanations: [Self.explanation(n)])], at: .zero)
            try memory.commit([PersistBatch(explanations: [Self.explanation(n)])], at: .zero)
            #expect(try store.explanationRowCount() == min(Int(n), 3), "after \(n) explanations")
        }
        #expect(try store.explanations().map(\.requestID.value) == [5, 6, 7])
        #expect(try memory.explanations() == store.explanations())
    }

    @Test func aRequestsNewExplanationReplacesItsOldOneInPlace() throws {
        let dir = TempDir()
        let store = try SQLiteLedgerStore(path: dir.ledger, explanationLimit: 3)
        var memory = InMemoryLedgerStore(explanationLimit: 3)
        let batches = [
            PersistBatch(explanations: [Self.explanation(1), Self.explanation(2), Self.explanation(3)]),
            PersistBatch(explanations: [Self.explanation(1, at: 5_000, chosen: false)]),
            PersistBatch(explanations: [Self.explanation(4)]),
        ]
        for batch in batches {
            try store.commit([batch], at: .zero)
            try memory.commit([batch], at: .zero)
        }
        // Request 1 kept its (oldest) place, so it is the one forgotten when 4 arrives.
        #expect(try store.explanations().map(\.requestID.value) == [2, 3, 4])
        #expect(try memory.explanations() == store.explanations())
    }

    @Test func explanationsAreRestoredOldestFirstExactlyAsCommitted() throws {
        let dir = TempDir()
        let written = (1...5 as ClosedRange<UInt128>).map { Self.explanation($0 * 7, at: 1_000 + UInt64($0)) }
        do {
            let store = try SQLiteLedgerStore(path: dir.ledger)
            for e in written { try store.commit([PersistBatch(explanations: [e])], at: .zero) }
        }
        let reopened = try SQLiteLedgerStore(path: dir.ledger)
        #expect(try reopened.explanations() == written, "every field survives, in commit order (not request ID order)")
        // Opened with a smaller bound, the store restores the most recent ones and prunes on the next commit.
        let smaller = try SQLiteLedgerStore(path: dir.ledger, explanationLimit: 2)
        #expect(try smaller.explanations() == Array(written.suffix(2)))
        try smaller.commit([PersistBatch(explanations: [Self.explanation(99)])], at: .zero)
        #expect(try smaller.explanationRowCount() == 2)
        #expect(try smaller.explanations().map(\.requestID.value) == [35, 99])
    }

    @Test func aLedgerFromBeforeExplanationsOpensKeepsItsStateAndStartsKeepingThem() throws {
        let dir = TempDir()
        let hold = StoreFixture.hold(1)
        do {
            // The schema of the ledgers written before this change: everything but `explanations`.
            let store = try SQLiteLedgerStore(path: dir.ledger)
            try store.commit(
                [.poolRegistered(RegisteredPool(descriptor: StoreFixture.pool, epoch: 1, sequence: 1)), .holdPlaced(hold)],
                ledgerVersion: 2, at: .zero)
            try store.exec("DROP TABLE explanations")
            #expect(
                try store.query("SELECT name FROM sqlite_master WHERE name = 'explanations'", bind: []) { $0.text(0) }.isEmpty)
        }
        let store = try SQLiteLedgerStore(path: dir.ledger)
        #expect(try store.load().holds == [hold], "the old ledger's state is intact")
        #expect(try store.load().ledgerVersion == 2)
        #expect(try store.explanations().isEmpty)
        try store.commit([PersistBatch(explanations: [Self.explanation(1)])], at: .zero)
        #expect(try store.explanations() == [Self.explanation(1)])
    }
}
