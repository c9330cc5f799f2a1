internal import CSQLite
internal import Foundation
public import MeshCore

/// The ledger in SQLite: WAL journal, `synchronous=FULL`, STRICT tables, one connection.
///
/// A commit is one `BEGIN IMMEDIATE … COMMIT` transaction; when ``commit(_:ledgerVersion:at:)``
/// returns, the batch is durable (WAL with `synchronous=FULL` syncs the log at every commit), so an
/// answer sent after it survives a crash of the process or the machine. The class is not
/// `Sendable`: one owner uses it at a time (``DurableLedger`` is the actor that owns one).
///
/// Tables: `pools` (registered pools), `holds` and `leases` (every reservation with its state:
/// active rows have state 1 = held or 2 = leased; ended leases 3 released, 4 expired, 5 abandoned
/// because never acknowledged; `acknowledge_by` is NULL once the holder acknowledged), `audit`
/// (every change ever committed, in order), `decisions` (idempotency keys), `explanations` (the
/// most recent ``explanationLimit`` explanations for WHY, by first-recorded order in `seq`) and
/// `meta` (the ledger version and the incarnation). `leases.hold_id` is UNIQUE: one hold can never
/// become two leases, even across a crash and a retried confirm.
public final class SQLiteLedgerStore: LedgerStore {
    private var db: OpaquePointer?
    public let path: String
    private var statements: [String: OpaquePointer] = [:]
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()
    /// The most explanations kept: each commit that adds one forgets the oldest beyond it.
    public let explanationLimit: Int

    static let schema = """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
        CREATE TABLE IF NOT EXISTS pools (
            id TEXT PRIMARY KEY, descriptor TEXT NOT NULL, epoch INTEGER NOT NULL, sequence INTEGER NOT NULL) STRICT;
        CREATE TABLE IF NOT EXISTS holds (
            hold_id TEXT PRIMARY KEY, request_id TEXT NOT NULL, requester TEXT NOT NULL, pool TEXT NOT NULL,
            tenant TEXT NOT NULL, units INTEGER NOT NULL, memory INTEGER NOT NULL, accelerators INTEGER NOT NULL,
            accelerator_group INTEGER, price INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
            state INTEGER NOT NULL, ended_at INTEGER) STRICT;
        CREATE INDEX IF NOT EXISTS holds_active ON holds(state) WHERE state = 1;
        CREATE TABLE IF NOT EXISTS leases (
            lease_id TEXT PRIMARY KEY, hold_id TEXT NOT NULL UNIQUE, request_id TEXT NOT NULL, requester TEXT NOT NULL,
            pool TEXT NOT NULL, tenant TEXT NOT NULL, units INTEGER NOT NULL, memory INTEGER NOT NULL,
            accelerators INTEGER NOT NULL, accelerator_group INTEGER, price INTEGER NOT NULL, starts_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL, idempotency_key TEXT NOT NULL, state INTEGER NOT NULL, ended_at INTEGER,
            acknowledge_by INTEGER) STRICT;
        CREATE INDEX IF NOT EXISTS leases_active ON leases(state) WHERE state = 2;
        CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY, ledger_version INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL,
            subject TEXT NOT NULL) STRICT;
        CREATE TABLE IF NOT EXISTS decisions (
            tenant TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, expires_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, key)) STRICT;
        CREATE TABLE IF NOT EXISTS explanations (
            seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, decided_at INTEGER NOT NULL, body TEXT NOT NULL) STRICT;
        INSERT OR IGNORE INTO meta(key, value) VALUES ('ledger_version', 0);
        INSERT OR IGNORE INTO meta(key, value) VALUES ('incarnation', 0);
        """

    /// Opens (creating if needed) the ledger at `path` with the durable settings, keeping at most
    /// `explanationLimit` explanations.
    public init(path: String, explanationLimit: Int = defaultExplanationLimit) throws(StoreError) {
        precondition(explanationLimit > 0, "a store keeps at least one explanation")
        self.path = path
        self.explanationLimit = explanationLimit
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            sqlite3_close(handle)
            throw StoreError(.io, "cannot open \(path): \(message)")
        }
        db = handle
        encoder.outputFormatting = [.sortedKeys]
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=FULL")
        try exec("PRAGMA busy_timeout=5000")
        try exec(SQLiteLedgerStore.schema)
        try migrate()
        guard try journalMode() == "wal" else { throw StoreError(.io, "\(path): the journal could not be switched to WAL") }
    }

    /// Brings a ledger written by an earlier version up to this schema: leases gained
    /// `acknowledge_by` (leases stored before acknowledgements existed count as acknowledged), and
    /// `explanations` is created empty by the schema's `CREATE TABLE IF NOT EXISTS` (a ledger from
    /// before it has no explanations to restore).
    private func migrate() throws(StoreError) {
        let columns = try query("PRAGMA table_info(leases)", bind: []) { row in row.text(1) }
        if !columns.contains("acknowledge_by") { try exec("ALTER TABLE leases ADD COLUMN acknowledge_by INTEGER") }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    /// The journal mode in force (`wal`).
    public func journalMode() throws(StoreError) -> String {
        try query("PRAGMA journal_mode", bind: []) { row in row.text(0) }.first ?? ""
    }

    /// The synchronous level in force (2 = FULL).
    public func synchronousLevel() throws(StoreError) -> Int64 {
        try query("PRAGMA synchronous", bind: []) { row in row.int(0) }.first ?? -1
    }

    // MARK: - LedgerStore

    public func commit(_ batches: [PersistBatch], at: MeshInstant) throws(StoreError) {
        try exec("BEGIN IMMEDIATE")
        do throws(StoreError) {
            var version: UInt64? = nil
            var incarnation: UInt64? = nil
            for batch in batches {
                if let v = batch.ledgerVersion { version = v }
                if let i = batch.incarnation { incarnation = i }
                for change in batch.changes {
                    try apply(change, at: at)
                    try run(
                        "INSERT INTO audit(ledger_version, at, kind, subject) VALUES (?, ?, ?, ?)",
                        [.int(version ?? 0), .int(at.milliseconds), .text(change.kind), .text(change.subject)])
                }
            }
            for batch in batches {
                for decision in batch.decisions {
                    // The verdicts stay in memory (WHY); a retry needs the outcome and the counts.
                    var kept = decision
                    kept.outcome.explanation.verdicts = []
                    let json: String
                    do { json = String(decoding: try encoder.encode(kept), as: UTF8.self) } catch {
                        throw StoreError(.inconsistent, "a key decision does not encode: \(error)")
                    }
                    try run(
                        "INSERT OR REPLACE INTO decisions(tenant, key, body, expires_at) VALUES (?, ?, ?, ?)",
                        [.text(decision.tenant.name), .text(decision.key), .text(json), .int(decision.expiresAt.milliseconds)])
                }
            }
            try keep(batches.flatMap(\.explanations))
            if let version { try run("UPDATE meta SET value = ? WHERE key = 'ledger_version'", [.int(version)]) }
            if let incarnation { try run("UPDATE meta SET value = ? WHERE key = 'incarnation'", [.int(incarnation)]) }
            try exec("COMMIT")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    public func decisions(at now: MeshInstant) throws(StoreError) -> [KeyDecision] {
        try run("DELETE FROM decisions WHERE expires_at <= ?", [.int(now.milliseconds)])
        return try query("SELECT body FROM decisions ORDER BY tenant, key", bind: []) { row throws(StoreError) in
            do { return try decoder.decode(KeyDecision.self, from: Data(row.text(0).utf8)) } catch {
                throw StoreError(.corrupt, "a key decision does not decode: \(error)")
            }
        }
    }

    /// Stores explanations (a request's replaces its earlier one in place) and forgets the oldest
    /// beyond ``explanationLimit``. Rows are only ever deleted oldest first, so `seq` has no gaps
    /// and the newest `explanationLimit` are exactly those above `MAX(seq) - explanationLimit`.
    private func keep(_ explanations: [Explanation]) throws(StoreError) {
        guard !explanations.isEmpty else { return }
        for explanation in explanations {
            let json: String
            do { json = String(decoding: try encoder.encode(explanation), as: UTF8.self) } catch {
                throw StoreError(.inconsistent, "an explanation does not encode: \(error)")
            }
            try run(
                """
                INSERT INTO explanations(request_id, decided_at, body) VALUES (?, ?, ?)
                ON CONFLICT(request_id) DO UPDATE SET decided_at = excluded.decided_at, body = excluded.body
                """,
                [.text(explanation.requestID.description), .int(explanation.decidedAt.milliseconds), .text(json)])
        }
        try run(
            "DELETE FROM explanations WHERE seq <= (SELECT MAX(seq) FROM explanations) - ?", [.int(UInt64(explanationLimit))])
    }

    public func explanations() throws(StoreError) -> [Explanation] {
        let newestFirst = try query(
            "SELECT body FROM explanations ORDER BY seq DESC LIMIT ?", bind: [.int(UInt64(explanationLimit))]
        ) { row throws(StoreError) in
            do { return try decoder.decode(Explanation.self, from: Data(row.text(0).utf8)) } catch {
                throw StoreError(.corrupt, "an explanation does not decode: \(error)")
            }
        }
        return newestFirst.reversed()
    }

    /// The number of explanation rows on disk (for tests of the bound).
    public func explanationRowCount() throws(StoreError) -> Int {
        try query("SELECT COUNT(*) FROM explanations", bind: []) { row in Int(row.int(0)) }.first ?? 0
    }

    /// Applies one batch of changes as one transaction stamped `ledgerVersion`.
    public func commit(_ changes: [LedgerChange], ledgerVersion: UInt64, at: MeshInstant) throws(StoreError) {
        try commit([PersistBatch(changes: changes, ledgerVersion: ledgerVersion)], at: at)
    }

    public func incarnation() throws(StoreError) -> UInt64 {
        try query("SELECT value FROM meta WHERE key = 'incarnation'", bind: []) { row in row.uint(0) }.first ?? 0
    }

    public func load() throws(StoreError) -> LedgerSnapshot {
        let pools = try query("SELECT descriptor, epoch, sequence FROM pools ORDER BY id", bind: []) { row throws(StoreError) in
            let text = row.text(0)
            let descriptor: PoolDescriptor
            do { descriptor = try decoder.decode(PoolDescriptor.self, from: Data(text.utf8)) } catch {
                throw StoreError(.corrupt, "pool descriptor does not decode: \(error)")
            }
            return RegisteredPool(descriptor: descriptor, epoch: row.uint(1), sequence: row.uint(2))
        }
        let holds = try query(
            """
            SELECT hold_id, request_id, requester, pool, tenant, units, memory, accelerators, accelerator_group, price,
                   created_at, expires_at FROM holds WHERE state = 1 ORDER BY hold_id
            """, bind: []
        ) { row throws(StoreError) in
            Hold(
                holdID: try vocabulary { () throws(VocabularyError) in try HoldID(hex: row.text(0)) },
                requestID: try vocabulary { () throws(VocabularyError) in try RequestID(hex: row.text(1)) },
                requester: try vocabulary { () throws(VocabularyError) in try NodeID(hex: row.text(2)) },
                pool: try vocabulary { () throws(VocabularyError) in try ComputeID(parsing: row.text(3)) },
                tenant: try vocabulary { () throws(VocabularyError) in try TenantID(row.text(4)) }, computeUnits: row.uint(5),
                memoryMiB: row.uint(6),
                acceleratorCount: UInt32(truncatingIfNeeded: row.uint(7)), acceleratorGroup: row.optionalInt(8),
                pricePerUnitHour: Price(microYuan: row.uint(9)), createdAt: MeshInstant(milliseconds: row.uint(10)),
                expiresAt: MeshInstant(milliseconds: row.uint(11)))
        }
        let leases = try query(
            """
            SELECT lease_id, hold_id, request_id, requester, pool, tenant, units, memory, accelerators, accelerator_group,
                   price, starts_at, expires_at, idempotency_key, acknowledge_by FROM leases WHERE state = 2
            ORDER BY lease_id
            """, bind: []
        ) { row throws(StoreError) in
            let lease = Lease(
                leaseID: try vocabulary { () throws(VocabularyError) in try LeaseID(hex: row.text(0)) },
                holdID: try vocabulary { () throws(VocabularyError) in try HoldID(hex: row.text(1)) },
                pool: try vocabulary { () throws(VocabularyError) in try ComputeID(parsing: row.text(4)) },
                tenant: try vocabulary { () throws(VocabularyError) in try TenantID(row.text(5)) },
                computeUnits: row.uint(6), memoryMiB: row.uint(7), acceleratorCount: UInt32(truncatingIfNeeded: row.uint(8)),
                pricePerUnitHour: Price(microYuan: row.uint(10)), startsAt: MeshInstant(milliseconds: row.uint(11)),
                expiresAt: MeshInstant(milliseconds: row.uint(12)))
            return ActiveLease(
                lease: lease, acceleratorGroup: row.optionalInt(9),
                requester: try vocabulary { () throws(VocabularyError) in try NodeID(hex: row.text(3)) },
                requestID: try vocabulary { () throws(VocabularyError) in try RequestID(hex: row.text(2)) },
                idempotencyKey: row.text(13), acknowledgeBy: row.optionalInt(14).map { MeshInstant(milliseconds: UInt64($0)) })
        }
        let version = try query("SELECT value FROM meta WHERE key = 'ledger_version'", bind: []) { row in row.uint(0) }.first ?? 0
        return LedgerSnapshot(pools: pools, holds: holds, leases: leases, ledgerVersion: version)
    }

    public func audit(limit: Int) throws(StoreError) -> [AuditRecord] {
        let rows = try query(
            "SELECT seq, ledger_version, at, kind, subject FROM audit ORDER BY seq DESC LIMIT ?",
            bind: [.int(UInt64(max(0, limit)))]
        ) { row in
            AuditRecord(
                sequence: row.uint(0), ledgerVersion: row.uint(1), at: MeshInstant(milliseconds: row.uint(2)), kind: row.text(3),
                subject: row.text(4))
        }
        return rows.reversed()
    }

    /// Every lease ever recorded (any state), for audits: (lease ID, hold ID, idempotency key).
    public func allLeases() throws(StoreError) -> [(leaseID: String, holdID: String, idempotencyKey: String, state: Int64)] {
        try query("SELECT lease_id, hold_id, idempotency_key, state FROM leases ORDER BY lease_id", bind: []) { row in
            (row.text(0), row.text(1), row.text(2), row.int(3))
        }
    }

    /// Every hold ever recorded (any state), for audits: (hold ID, state 1 held, 2 confirmed,
    /// 3 released, 4 expired).
    public func allHolds() throws(StoreError) -> [(holdID: String, state: Int64)] {
        try query("SELECT hold_id, state FROM holds ORDER BY hold_id", bind: []) { row in (row.text(0), row.int(1)) }
    }

    // MARK: - Applying entries

    private func apply(_ change: LedgerChange, at: MeshInstant) throws(StoreError) {
        switch change {
        case .poolRegistered(let pool):
            let json: String
            do { json = String(decoding: try encoder.encode(pool.descriptor), as: UTF8.self) } catch {
                throw StoreError(.inconsistent, "pool descriptor does not encode: \(error)")
            }
            try run(
                "INSERT OR REPLACE INTO pools(id, descriptor, epoch, sequence) VALUES (?, ?, ?, ?)",
                [.text(pool.descriptor.id.description), .text(json), .int(pool.epoch), .int(pool.sequence)])
        case .holdPlaced(let h):
            try run(
                """
                INSERT INTO holds(hold_id, request_id, requester, pool, tenant, units, memory, accelerators,
                                  accelerator_group, price, created_at, expires_at, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                """,
                [
                    .text(h.holdID.description), .text(h.requestID.description), .text(h.requester.hex),
                    .text(h.pool.description),
                    .text(h.tenant.name), .int(h.computeUnits), .int(h.memoryMiB), .int(UInt64(h.acceleratorCount)),
                    h.acceleratorGroup.map { .int(UInt64($0)) } ?? .null, .int(h.pricePerUnitHour.microYuan),
                    .int(h.createdAt.milliseconds), .int(h.expiresAt.milliseconds),
                ])
        case .holdReleased(let id), .holdExpired(let id):
            let state: Int64 = if case .holdReleased = change { 3 } else { 4 }
            try run(
                "UPDATE holds SET state = ?, ended_at = ? WHERE hold_id = ? AND state = 1",
                [.int(UInt64(state)), .int(at.milliseconds), .text(id.description)], expectChanges: 1)
        case .leaseStarted(let s):
            let l = s.lease
            try run(
                "UPDATE holds SET state = 2, ended_at = ? WHERE hold_id = ? AND state = 1",
                [.int(at.milliseconds), .text(l.holdID.description)], expectChanges: 1)
            try run(
                """
                INSERT INTO leases(lease_id, hold_id, request_id, requester, pool, tenant, units, memory, accelerators,
                                   accelerator_group, price, starts_at, expires_at, idempotency_key, state, acknowledge_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2, ?)
                """,
                [
                    .text(l.leaseID.description), .text(l.holdID.description), .text(s.requestID.description),
                    .text(s.requester.hex),
                    .text(l.pool.description), .text(l.tenant.name), .int(l.computeUnits), .int(l.memoryMiB),
                    .int(UInt64(l.acceleratorCount)), s.acceleratorGroup.map { .int(UInt64($0)) } ?? .null,
                    .int(l.pricePerUnitHour.microYuan), .int(l.startsAt.milliseconds), .int(l.expiresAt.milliseconds),
                    .text(s.idempotencyKey), s.acknowledgeBy.map { .int($0.milliseconds) } ?? .null,
                ])
        case .leaseAcknowledged(let id):
            try run(
                "UPDATE leases SET acknowledge_by = NULL WHERE lease_id = ? AND state = 2", [.text(id.description)],
                expectChanges: 1)
        case .leaseReconfirmed(let id, let by):
            try run(
                "UPDATE leases SET acknowledge_by = ? WHERE lease_id = ? AND state = 2",
                [.int(by.milliseconds), .text(id.description)], expectChanges: 1)
        case .leaseRenewed(let id, let expiresAt):
            try run(
                "UPDATE leases SET expires_at = ? WHERE lease_id = ? AND state = 2",
                [.int(expiresAt.milliseconds), .text(id.description)],
                expectChanges: 1)
        case .leaseReleased(let id), .leaseExpired(let id), .leaseAbandoned(let id):
            let state: Int64 =
                switch change {
                case .leaseReleased: 3
                case .leaseExpired: 4
                default: 5
                }
            try run(
                "UPDATE leases SET state = ?, ended_at = ? WHERE lease_id = ? AND state = 2",
                [.int(UInt64(state)), .int(at.milliseconds), .text(id.description)], expectChanges: 1)
        }
    }

    // MARK: - SQLite plumbing

    enum Value {
        case int(UInt64)
        case text(String)
        case null
    }

    struct Row {
        let statement: OpaquePointer
        func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
        func uint(_ column: Int32) -> UInt64 { UInt64(bitPattern: sqlite3_column_int64(statement, column)) }
        func optionalInt(_ column: Int32) -> Int? {
            sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(statement, column))
        }
        func text(_ column: Int32) -> String {
            guard let pointer = sqlite3_column_text(statement, column) else { return "" }
            return String(cString: pointer)
        }
    }

    private func errorMessage() -> String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    func exec(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>? = nil
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "code \(rc)"
            sqlite3_free(message)
            throw StoreError(.io, "\(sql.prefix(40)): \(text)")
        }
    }

    private func prepared(_ sql: String) throws(StoreError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw StoreError(.io, "prepare \(sql.prefix(40)): \(errorMessage())") }
        statements[sql] = statement
        return statement
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ statement: OpaquePointer, _ values: [Value]) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .int(let v): sqlite3_bind_int64(statement, position, Int64(bitPattern: v))
            case .text(let s): sqlite3_bind_text(statement, position, s, -1, SQLiteLedgerStore.transient)
            case .null: sqlite3_bind_null(statement, position)
            }
        }
    }

    private func run(_ sql: String, _ values: [Value], expectChanges: Int32? = nil) throws(StoreError) {
        let statement = try prepared(sql)
        bind(statement, values)
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE else {
            let kind: StoreError.Kind = rc == SQLITE_CONSTRAINT ? .inconsistent : .io
            throw StoreError(kind, "\(sql.prefix(60)): \(errorMessage())")
        }
        if let expectChanges, sqlite3_changes(db) != expectChanges {
            throw StoreError(.inconsistent, "\(sql.prefix(60)): changed \(sqlite3_changes(db)) rows, expected \(expectChanges)")
        }
    }

    func query<T>(_ sql: String, bind values: [Value], _ make: (Row) throws(StoreError) -> T) throws(StoreError) -> [T] {
        let statement = try prepared(sql)
        bind(statement, values)
        defer { sqlite3_reset(statement) }
        var out: [T] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StoreError(.io, "\(sql.prefix(60)): \(errorMessage())") }
            out.append(try make(Row(statement: statement)))
        }
        return out
    }
}

/// Parses stored text back into vocabulary; a failure means the file was damaged or edited.
func vocabulary<T>(_ parse: () throws(VocabularyError) -> T) throws(StoreError) -> T {
    do { return try parse() } catch { throw StoreError(.corrupt, error.description) }
}
