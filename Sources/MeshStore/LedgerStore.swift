public import MeshCore

/// One line of the audit trail: every entry ever committed, in commit order.
public struct AuditRecord: Hashable, Sendable {
    public var sequence: UInt64
    public var ledgerVersion: UInt64
    public var at: MeshInstant
    public var kind: String
    public var subject: String

    public init(sequence: UInt64, ledgerVersion: UInt64, at: MeshInstant, kind: String, subject: String) {
        self.sequence = sequence
        self.ledgerVersion = ledgerVersion
        self.at = at
        self.kind = kind
        self.subject = subject
    }
}

/// Why the store could not do what was asked: I/O, a corrupt file, or a batch inconsistent with
/// the stored ledger (which the store refuses whole, changing nothing).
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case io
        case corrupt
        case inconsistent
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "ledger store (\(kind)): \(message)" }
}

/// Where a node's ledger lives. `commit` MUST be durable when it returns: the caller sends the
/// answers that report a batch only after its commit returned.
public protocol LedgerStore {
    /// Applies every batch in order as one transaction (group commit); all or nothing. The ledger
    /// version and incarnation stored are the last ones the batches carry.
    mutating func commit(_ batches: [PersistBatch], at: MeshInstant) throws(StoreError)
    /// The live ledger as committed.
    func load() throws(StoreError) -> LedgerSnapshot
    /// The last incarnation committed (0: none).
    func incarnation() throws(StoreError) -> UInt64
    /// The decisions for idempotency keys not yet expired at `now`, by tenant and key.
    func decisions(at now: MeshInstant) throws(StoreError) -> [KeyDecision]
    /// The most recent `limit` audit records, oldest first.
    func audit(limit: Int) throws(StoreError) -> [AuditRecord]
    /// The explanations kept for WHY, oldest first: the most recent ``explanationLimit`` of those
    /// committed (a request's explanation keeps the place of its first one).
    func explanations() throws(StoreError) -> [Explanation]
    /// The most explanations the store keeps; every commit forgets the oldest beyond it.
    var explanationLimit: Int { get }
}

/// The bound on kept explanations a store has unless told otherwise: the default of
/// `PlacementConfig.maxExplanations`, so that disk keeps what memory keeps.
public let defaultExplanationLimit = 4_096

extension LedgerStore {
    /// Applies one batch of changes as one transaction stamped `ledgerVersion`.
    public mutating func commit(_ changes: [LedgerChange], ledgerVersion: UInt64, at: MeshInstant) throws(StoreError) {
        try commit([PersistBatch(changes: changes, ledgerVersion: ledgerVersion)], at: at)
    }
}

/// The same protocol in memory, for the simulator and tests: applies batches with the same
/// consistency checks as the SQLite store and keeps every batch for an oracle to replay.
public struct InMemoryLedgerStore: LedgerStore, Sendable {
    private var ledgerVersion: UInt64 = 0
    private var storedIncarnation: UInt64 = 0
    private var pools: [ComputeID: RegisteredPool] = [:]
    private var holds: [HoldID: Hold] = [:]
    private var leases: [LeaseID: ActiveLease] = [:]
    private var leasedHolds: Set<HoldID> = []
    private var keyDecisions: [String: KeyDecision] = [:]
    /// Kept explanations by sequence (contiguous from `oldestExplanation`), and each request's sequence.
    private var explanationsBySequence: [UInt64: Explanation] = [:]
    private var explanationSequence: [RequestID: UInt64] = [:]
    private var oldestExplanation: UInt64 = 1
    private var nextExplanation: UInt64 = 1
    public let explanationLimit: Int
    private var auditTrail: [AuditRecord] = []
    /// Every committed batch, in order, when `keepsHistory` is true.
    public private(set) var history: [(ledgerVersion: UInt64, changes: [LedgerChange])] = []
    public var keepsHistory: Bool
    /// The most audit records kept in memory.
    public var auditLimit: Int
    /// Transactions committed (one per call of ``commit(_:at:)``, however many batches it held).
    public private(set) var commitCount = 0
    private var auditSequence: UInt64 = 0

    public init(keepsHistory: Bool = false, auditLimit: Int = 10_000, explanationLimit: Int = defaultExplanationLimit) {
        precondition(explanationLimit > 0, "a store keeps at least one explanation")
        self.keepsHistory = keepsHistory
        self.auditLimit = auditLimit
        self.explanationLimit = explanationLimit
    }

    public mutating func commit(_ batches: [PersistBatch], at: MeshInstant) throws(StoreError) {
        var undo: [Undo] = []
        for batch in batches {
            for change in batch.changes {
                do throws(StoreError) {
                    undo.append(try apply(change))
                } catch {
                    for step in undo.reversed() { revert(step) }
                    throw error
                }
            }
        }
        commitCount += 1
        for batch in batches {
            if let version = batch.ledgerVersion { ledgerVersion = version }
            if let incarnation = batch.incarnation { storedIncarnation = incarnation }
            for decision in batch.decisions { keyDecisions[decision.tenant.name + "/" + decision.key] = decision }
            for explanation in batch.explanations { keep(explanation) }
            for change in batch.changes {
                auditSequence += 1
                auditTrail.append(
                    AuditRecord(
                        sequence: auditSequence, ledgerVersion: ledgerVersion, at: at, kind: change.kind,
                        subject: change.subject))
            }
            if keepsHistory && !batch.changes.isEmpty { history.append((ledgerVersion, batch.changes)) }
        }
        if auditTrail.count > auditLimit * 2 { auditTrail.removeFirst(auditTrail.count - auditLimit) }
    }

    private mutating func keep(_ explanation: Explanation) {
        if let sequence = explanationSequence[explanation.requestID] {
            explanationsBySequence[sequence] = explanation
            return
        }
        explanationSequence[explanation.requestID] = nextExplanation
        explanationsBySequence[nextExplanation] = explanation
        nextExplanation += 1
        while nextExplanation - oldestExplanation > UInt64(explanationLimit) {
            if let oldest = explanationsBySequence.removeValue(forKey: oldestExplanation) {
                explanationSequence[oldest.requestID] = nil
            }
            oldestExplanation += 1
        }
    }

    public func explanations() throws(StoreError) -> [Explanation] {
        (oldestExplanation..<nextExplanation).compactMap { explanationsBySequence[$0] }
    }

    private enum Undo {
        case pool(ComputeID, RegisteredPool?)
        case unplaceHold(HoldID)
        case restoreHold(Hold)
        case unstartLease(Hold, LeaseID)
        case restoreLease(ActiveLease)
    }

    private mutating func revert(_ step: Undo) {
        switch step {
        case .pool(let id, let previous): pools[id] = previous
        case .unplaceHold(let id): holds[id] = nil
        case .restoreHold(let hold): holds[hold.holdID] = hold
        case .unstartLease(let hold, let leaseID):
            holds[hold.holdID] = hold
            leasedHolds.remove(hold.holdID)
            leases[leaseID] = nil
        case .restoreLease(let lease): leases[lease.lease.leaseID] = lease
        }
    }

    private mutating func apply(_ change: LedgerChange) throws(StoreError) -> Undo {
        switch change {
        case .poolRegistered(let pool):
            let previous = pools.updateValue(pool, forKey: pool.descriptor.id)
            return .pool(pool.descriptor.id, previous)
        case .holdPlaced(let hold):
            guard holds[hold.holdID] == nil, pools[hold.pool] != nil else {
                throw StoreError(.inconsistent, "hold \(hold.holdID) already exists or its pool is unknown")
            }
            holds[hold.holdID] = hold
            return .unplaceHold(hold.holdID)
        case .holdReleased(let id), .holdExpired(let id):
            guard let hold = holds.removeValue(forKey: id) else { throw StoreError(.inconsistent, "no active hold \(id)") }
            return .restoreHold(hold)
        case .leaseStarted(let lease):
            guard leases[lease.lease.leaseID] == nil, !leasedHolds.contains(lease.lease.holdID),
                let hold = holds.removeValue(forKey: lease.lease.holdID)
            else { throw StoreError(.inconsistent, "lease \(lease.lease.leaseID) has no active hold or duplicates one") }
            leasedHolds.insert(lease.lease.holdID)
            leases[lease.lease.leaseID] = lease
            return .unstartLease(hold, lease.lease.leaseID)
        case .leaseAcknowledged(let id):
            guard let previous = leases[id] else { throw StoreError(.inconsistent, "no active lease \(id)") }
            leases[id]!.acknowledgeBy = nil
            return .restoreLease(previous)
        case .leaseReconfirmed(let id, let by):
            guard let previous = leases[id] else { throw StoreError(.inconsistent, "no active lease \(id)") }
            leases[id]!.acknowledgeBy = by
            return .restoreLease(previous)
        case .leaseRenewed(let id, let expiresAt):
            guard let previous = leases[id] else { throw StoreError(.inconsistent, "no active lease \(id)") }
            leases[id]!.lease.expiresAt = expiresAt
            return .restoreLease(previous)
        case .leaseReleased(let id), .leaseExpired(let id), .leaseAbandoned(let id):
            guard let lease = leases.removeValue(forKey: id) else { throw StoreError(.inconsistent, "no active lease \(id)") }
            return .restoreLease(lease)
        }
    }

    public func load() throws(StoreError) -> LedgerSnapshot {
        LedgerSnapshot(
            pools: pools.values.sorted { $0.descriptor.id < $1.descriptor.id },
            holds: holds.values.sorted { $0.holdID < $1.holdID },
            leases: leases.values.sorted { $0.lease.leaseID < $1.lease.leaseID }, ledgerVersion: ledgerVersion)
    }

    public func incarnation() throws(StoreError) -> UInt64 { storedIncarnation }

    public func decisions(at now: MeshInstant) throws(StoreError) -> [KeyDecision] {
        keyDecisions.keys.sorted().map { keyDecisions[$0]! }.filter { $0.expiresAt > now }
    }

    public func audit(limit: Int) throws(StoreError) -> [AuditRecord] { Array(auditTrail.suffix(limit)) }

    /// Active holds and leases, without sorting (for oracles that only count).
    public var activeHoldCount: Int { holds.count }
    public var activeLeaseCount: Int { leases.count }
    /// The live lease with this ID, if any (for oracles).
    public func activeLease(_ id: LeaseID) -> ActiveLease? { leases[id] }
}
