import CSQLite
import Foundation
import MeshCore
import MeshRuntime
import MeshWire
import Testing

/// Another connection to a node's ledger that holds SQLite's write lock, so the node's next commit
/// waits (up to the store's busy timeout) as it would on a stalled disk.
final class LedgerWriteLock {
    private var db: OpaquePointer?

    init(ledgerAt path: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            throw RuntimeError("cannot open \(path)")
        }
        guard sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
            throw RuntimeError("cannot take the write lock of \(path): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    /// Gives the lock back; the node's waiting commit proceeds.
    func release() {
        guard let db else { return }
        sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
        sqlite3_close(db)
        self.db = nil
    }

    deinit { release() }
}

@Suite("Node durability off the loop", .timeLimit(.minutes(1)), .serialized)
struct NodeDurabilityTests {
    @Test func aStalledCommitDelaysOnlyTheAnswerThatWaitsForIt() async throws {
        let mesh = try TestMesh()
        do {
            let node = try mesh.start(
                NodeIntegrationTests.regional(
                    "north-1", region: "cn-north", pools: [pool("cpu", units: 1_000, price: 0.4)]))
            let console = try await TestConsole(connectingTo: node.boundAddress)
            defer { console.close() }
            _ = try await console.status()

            let lock = try LedgerWriteLock(ledgerAt: mesh.directory.appendingPathComponent("north-1/ledger.sqlite").path)
            let placing = Task {
                try await console.ask(.place(try request(key: "stalled", origin: node.nodeID, units: 10)), within: 8)
            }
            // The hold's commit now waits for the lock. The loop does not: a console's STATUS
            // (answered by the node's core on its loop) comes back at once, again and again.
            for _ in 1...3 {
                let started = Date()
                guard case .status = try await console.ask(.statusRequest(StatusRequest()), within: 1) else {
                    Issue.record("STATUS was not answered with STATUS")
                    break
                }
                #expect(Date().timeIntervalSince(started) < 1)
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            #expect(await node.snapshot()?.leases == 0, "nothing is leased before the ledger could commit")
            // The owner's QUOTE waits for its commit, longer than the requester waits for a quote:
            // the answer may be a transient refusal, which a retry must not get back from the cache.
            let first = try await placing.value
            if case .outcome(let o) = first, case .refused(let reason, _) = o.result {
                #expect(reason.isTransient, "a stalled disk is not a final refusal: \(o.result)")
            }
            lock.release()
            var retry = try request(key: "stalled", origin: node.nodeID, units: 10)
            retry.requestID = RequestID(value: 0xF00D)
            guard case .outcome(let outcome) = try await console.ask(.place(retry), within: 8) else {
                Issue.record("the retry was not answered with OUTCOME")
                await mesh.stop()
                return
            }
            guard case .placed = outcome.result else {
                Issue.record("a retry after the disk came back was not placed: \(outcome.result)")
                await mesh.stop()
                return
            }
            #expect(outcome.requestID == retry.requestID)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }
}
