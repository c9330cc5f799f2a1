import Foundation
import Glibc
package import MeshCore
package import MeshStore
import Synchronization

/// The durable ledger off the node's loop: one thread owns the SQLite connection and commits what
/// the node asks, in token order, with group commit: every batch waiting when a commit starts goes
/// into that one transaction (one fsync), so a slow disk delays answers that wait for it, never
/// the loop (liveness, gossip, other peers).
///
/// When a transaction is durable the worker reports the highest token it covered; when one fails
/// it reports that token and stops (the node halts: it never answers for state it could not store).
package final class StoreWorker: @unchecked Sendable {
    package struct Submission: Sendable {
        package var batch: PersistBatch
        package var token: UInt64

        package init(batch: PersistBatch, token: UInt64) {
            self.batch = batch
            self.token = token
        }
    }

    /// Figures for metrics.
    package struct Stats: Sendable {
        package var transactions = 0
        package var batches = 0
        var lastCommitMicroseconds: UInt64 = 0
        var totalCommitMicroseconds: UInt64 = 0
        /// Time of each durable transaction (group commit, fsync included).
        package var commitSeconds = LatencyHistogram()
        package var failed = false
    }

    private let store: SQLiteLedgerStore
    private let queue = NodeMailbox<Submission>(capacity: 1 << 20)
    private let onCommitted: @Sendable (UInt64) -> Void
    private let onFailed: @Sendable (UInt64, String) -> Void
    private let statsBox = Mutex(Stats())
    private let finished = DispatchSemaphore(value: 0)
    private let clock: @Sendable () -> MeshInstant

    /// Takes ownership of `store`: no one else may use it from now on.
    package init(
        store: SQLiteLedgerStore, clock: @escaping @Sendable () -> MeshInstant,
        onCommitted: @escaping @Sendable (UInt64) -> Void, onFailed: @escaping @Sendable (UInt64, String) -> Void
    ) {
        self.store = store
        self.clock = clock
        self.onCommitted = onCommitted
        self.onFailed = onFailed
    }

    package var stats: Stats { statsBox.withLock { $0 } }

    /// Starts the worker thread.
    package func start() {
        let thread = Thread { [self] in run() }
        thread.name = "mesh-store"
        thread.start()
    }

    /// Queues batches; they commit in the order submitted.
    package func submit(_ submissions: [Submission]) {
        queue.post(submissions, droppable: { _ in false })
    }

    /// Commits what is queued, then stops the thread and returns.
    package func finish() {
        queue.close()
        finished.wait()
    }

    private func run() {
        defer { finished.signal() }
        while true {
            let group = queue.take(until: nil)
            if group.isEmpty { return }  // closed and drained
            let started = Monotonic.nanoseconds()
            do {
                try store.commit(group.map(\.batch), at: clock())
            } catch {
                statsBox.withLock { $0.failed = true }
                onFailed(group[0].token, "\(error)")
                return
            }
            let micros = (Monotonic.nanoseconds() - started) / 1_000
            statsBox.withLock {
                $0.transactions += 1
                $0.batches += group.count
                $0.lastCommitMicroseconds = micros
                $0.totalCommitMicroseconds += micros
                $0.commitSeconds.observe(seconds: Double(micros) / 1e6)
            }
            onCommitted(group.map(\.token).max()!)
        }
    }
}
