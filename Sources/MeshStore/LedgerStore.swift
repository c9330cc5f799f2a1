public import MeshCore

/// A registered pool as stored, with the inventory version it was published at.
public struct StoredPool: Hashable, Sendable {
    public var descriptor: PoolDescriptor
    public var epoch: UInt64
    public var sequence: UInt64

    public init(descriptor: PoolDescriptor, epoch: UInt64, sequence: UInt64) {
        self.descriptor = descriptor
        self.epoch = epoch
        self.sequence = sequence
    }
}

/// One change to the ledger, applied in order within one committed batch.
public enum LedgerEntry: Hashable, Sendable {
    case poolRegistered(StoredPool)
    case holdPlaced(Hold)
    case holdReleased(HoldID)
    case holdExpired(HoldID)
    /// The hold `lease.lease.holdID` became this lease.
    case leaseStarted(ActiveLease)
    case leaseRenewed(LeaseID, expiresAt: MeshInstant)
    case leaseReleased(LeaseID)
    case leaseExpired(LeaseID)

    /// A short name for the audit trail.
    public var kind: String {
        switch self {
        case .poolRegistered: "pool-registered"
        case .holdPlaced: "hold-placed"
        case .holdReleased: "hold-released"
        case .holdExpired: "hold-expired"
        case .leaseStarted: "lease-started"
        case .leaseRenewed: "lease-renewed"
        case .leaseReleased: "lease-released"
        case .leaseExpired: "lease-expired"
        }
    }

    /// The ID the entry is about, for the audit trail.
    public var subject: String {
        switch self {
        case .poolRegistered(let p): p.descriptor.id.description
        case .holdPlaced(let h): h.holdID.description
        case .holdReleased(let id), .holdExpired(let id): id.description
        case .leaseStarted(let l): l.lease.leaseID.description
        case .leaseRenewed(let id, _), .leaseReleased(let id), .leaseExpired(let id): id.description
        }
    }
}

/// The live ledger as stored: registered pools, active holds, active leases, in ID order.
public struct LedgerState: Hashable, Sendable {
    public var pools: [StoredPool]
    public var holds: [Hold]
    public var leases: [ActiveLease]
    /// The version of the last committed batch.
    public var ledgerVersion: UInt64

    public init(pools: [StoredPool] = [], holds: [Hold] = [], leases: [ActiveLease] = [], ledgerVersion: UInt64 = 0) {
        self.pools = pools
        self.holds = holds
        self.leases = leases
        self.ledgerVersion = ledgerVersion
    }
}

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
    /// Applies `entries` in order as one transaction stamped `ledgerVersion`; all or nothing.
    mutating func commit(_ entries: [LedgerEntry], ledgerVersion: UInt64, at: MeshInstant) throws(StoreError)
    /// The live ledger as committed.
    func load() throws(StoreError) -> LedgerState
    /// The most recent `limit` audit records, oldest first.
    func audit(limit: Int) throws(StoreError) -> [AuditRecord]
}

/// The same protocol in memory, for the simulator and tests: applies batches with the same
/// consistency checks as the SQLite store and keeps every batch for an oracle to replay.
public struct InMemoryLedgerStore: LedgerStore, Sendable {
    public private(set) var state = LedgerState()
    private var pools: [ComputeID: StoredPool] = [:]
    private var holds: [HoldID: Hold] = [:]
    private var leases: [LeaseID: ActiveLease] = [:]
    private var leasedHolds: Set<HoldID> = []
    private var auditTrail: [AuditRecord] = []
    /// Every committed batch, in order, when `keepsHistory` is true.
    public private(set) var history: [(ledgerVersion: UInt64, entries: [LedgerEntry])] = []
    public var keepsHistory: Bool
    /// The most audit records kept in memory.
    public var auditLimit: Int
    public private(set) var commitCount = 0
    private var auditSequence: UInt64 = 0

    public init(keepsHistory: Bool = false, auditLimit: Int = 10_000) {
        self.keepsHistory = keepsHistory
        self.auditLimit = auditLimit
    }

    public mutating func commit(_ entries: [LedgerEntry], ledgerVersion: UInt64, at: MeshInstant) throws(StoreError) {
        var undo: [Undo] = []
        for entry in entries {
            do throws(StoreError) {
                undo.append(try apply(entry))
            } catch {
                for step in undo.reversed() { revert(step) }
                throw error
            }
        }
        state.ledgerVersion = ledgerVersion
        commitCount += 1
        for entry in entries {
            auditSequence += 1
            auditTrail.append(
                AuditRecord(
                    sequence: auditSequence, ledgerVersion: ledgerVersion, at: at, kind: entry.kind, subject: entry.subject)
            )
        }
        if auditTrail.count > auditLimit * 2 { auditTrail.removeFirst(auditTrail.count - auditLimit) }
        if keepsHistory { history.append((ledgerVersion, entries)) }
    }

    private enum Undo {
        case pool(ComputeID, StoredPool?)
        case unplaceHold(HoldID)
        case restoreHold(Hold)
        case unstartLease(Hold, LeaseID)
        case renew(LeaseID, MeshInstant)
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
        case .renew(let id, let expiresAt): leases[id]?.lease.expiresAt = expiresAt
        case .restoreLease(let lease): leases[lease.lease.leaseID] = lease
        }
    }

    private mutating func apply(_ entry: LedgerEntry) throws(StoreError) -> Undo {
        switch entry {
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
        case .leaseRenewed(let id, let expiresAt):
            guard let previous = leases[id]?.lease.expiresAt else { throw StoreError(.inconsistent, "no active lease \(id)") }
            leases[id]!.lease.expiresAt = expiresAt
            return .renew(id, previous)
        case .leaseReleased(let id), .leaseExpired(let id):
            guard let lease = leases.removeValue(forKey: id) else { throw StoreError(.inconsistent, "no active lease \(id)") }
            return .restoreLease(lease)
        }
    }

    public func load() throws(StoreError) -> LedgerState {
        LedgerState(
            pools: pools.values.sorted { $0.descriptor.id < $1.descriptor.id },
            holds: holds.values.sorted { $0.holdID < $1.holdID },
            leases: leases.values.sorted { $0.lease.leaseID < $1.lease.leaseID }, ledgerVersion: state.ledgerVersion)
    }

    public func audit(limit: Int) throws(StoreError) -> [AuditRecord] { Array(auditTrail.suffix(limit)) }

    /// Active holds and leases, without sorting (for oracles that only count).
    public var activeHoldCount: Int { holds.count }
    public var activeLeaseCount: Int { leases.count }
}
