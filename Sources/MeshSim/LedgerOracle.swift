public import MeshCore

/// Replays every batch the owners made durable, independently of the owner core, and checks what
/// any reader of the ledgers could observe: holds plus leases never exceed a pool's capacity, every
/// change names a reservation that exists, and no idempotency key holds more acknowledged leases
/// at once than its demand has parts.
public struct LedgerOracle: Sendable {
    struct Usage: Sendable {
        var capacityUnits: UInt64
        var capacityMemory: UInt64
        var capacityAccelerators: [UInt32]
        var units: UInt64 = 0
        var memory: UInt64 = 0
        var accelerators: [UInt32]
    }

    struct Reservation: Sendable {
        var pool: ComputeID
        var units: UInt64
        var memory: UInt64
        var accelerators: UInt32
        var group: Int?
    }

    /// A lease as the durable ledgers show it.
    public struct LeaseRecord: Sendable {
        public var key: String
        public var owner: Int
        public var startedAt: MeshInstant
        public var acknowledged: Bool
        public var acknowledgeBy: MeshInstant?
        public var ended: LedgerChange?
        public var endedAt: MeshInstant?
    }

    var pools: [ComputeID: Usage] = [:]
    var holds: [HoldID: Reservation] = [:]
    var leases: [LeaseID: Reservation] = [:]
    public private(set) var leaseRecords: [LeaseID: LeaseRecord] = [:]
    /// Acknowledged leases active under each key.
    var acknowledgedActive: [String: Int] = [:]
    /// The most leases a key may hold at once: its spread demand's `maxPools` (1 for a gang).
    public var maxLeasesPerKey: [String: Int] = [:]
    public private(set) var violations: [String] = []
    public private(set) var holdsPlaced = 0
    public private(set) var holdsReleased = 0
    public private(set) var holdsLapsed = 0
    public private(set) var leasesStarted = 0
    public private(set) var leasesAbandoned = 0
    public private(set) var batches = 0

    public init() {}

    public var overCommits: Int { violations.filter { $0.hasPrefix("over-commit") }.count }

    public mutating func observe(_ changes: [LedgerChange], node: Int, at now: MeshInstant) {
        batches += 1
        for change in changes {
            switch change {
            case .poolRegistered(let p):
                let d = p.descriptor
                if pools[d.id] == nil {
                    pools[d.id] = Usage(
                        capacityUnits: d.computeUnits, capacityMemory: d.memoryMiB,
                        capacityAccelerators: d.accelerators.map(\.count), accelerators: d.accelerators.map { _ in 0 })
                }
            case .holdPlaced(let h):
                holdsPlaced += 1
                let r = Reservation(
                    pool: h.pool, units: h.computeUnits, memory: h.memoryMiB, accelerators: h.acceleratorCount,
                    group: h.acceleratorGroup)
                holds[h.holdID] = r
                add(r, sign: 1)
            case .holdReleased(let id), .holdExpired(let id):
                if case .holdReleased = change { holdsReleased += 1 } else { holdsLapsed += 1 }
                guard let r = holds.removeValue(forKey: id) else {
                    violations.append("node \(node): ended hold \(id) that is not active")
                    continue
                }
                add(r, sign: -1)
            case .leaseStarted(let l):
                leasesStarted += 1
                guard let r = holds.removeValue(forKey: l.lease.holdID) else {
                    violations.append("node \(node): lease \(l.lease.leaseID) from inactive hold \(l.lease.holdID)")
                    continue
                }
                leases[l.lease.leaseID] = r
                leaseRecords[l.lease.leaseID] = LeaseRecord(
                    key: key(l.lease.tenant, l.idempotencyKey), owner: node, startedAt: now, acknowledged: l.isAcknowledged,
                    acknowledgeBy: l.acknowledgeBy, ended: nil, endedAt: nil)
                if l.isAcknowledged { acknowledge(l.lease.leaseID, node: node) }
            case .leaseAcknowledged(let id):
                guard leaseRecords[id]?.acknowledged == false else { continue }
                leaseRecords[id]!.acknowledged = true
                acknowledge(id, node: node)
            case .leaseReconfirmed(let id, let by):
                leaseRecords[id]?.acknowledgeBy = by
            case .leaseRenewed: break
            case .leaseReleased(let id), .leaseExpired(let id), .leaseAbandoned(let id):
                guard let r = leases.removeValue(forKey: id) else {
                    violations.append("node \(node): ended lease \(id) that is not active")
                    continue
                }
                if case .leaseAbandoned = change {
                    leasesAbandoned += 1
                    if leaseRecords[id]?.acknowledged == true {
                        violations.append("node \(node) abandoned lease \(id), which its holder had acknowledged")
                    }
                }
                if let record = leaseRecords[id] {
                    leaseRecords[id]!.ended = change
                    leaseRecords[id]!.endedAt = now
                    if record.acknowledged { acknowledgedActive[record.key, default: 1] -= 1 }
                }
                add(r, sign: -1)
            }
        }
        // Checked after every committed batch: what any reader of the ledger could observe.
        for change in changes {
            guard case .holdPlaced(let h) = change, let u = pools[h.pool] else { continue }
            var over = u.units > u.capacityUnits || u.memory > u.capacityMemory
            for (used, capacity) in zip(u.accelerators, u.capacityAccelerators) where used > capacity { over = true }
            if over {
                violations.append(
                    "over-commit on \(h.pool.localName) of node \(node): \(u.units)/\(u.capacityUnits) units, \(u.accelerators)/\(u.capacityAccelerators) accelerators"
                )
            }
        }
    }

    func key(_ tenant: TenantID, _ key: String) -> String { "\(tenant.name)/\(key)" }

    mutating func acknowledge(_ id: LeaseID, node: Int) {
        guard let record = leaseRecords[id] else { return }
        acknowledgedActive[record.key, default: 0] += 1
        let most = maxLeasesPerKey[record.key] ?? 1
        if acknowledgedActive[record.key]! > most {
            violations.append(
                "idempotency key \(record.key) holds \(acknowledgedActive[record.key]!) acknowledged leases at once, more than \(most)"
            )
        }
    }

    private mutating func add(_ r: Reservation, sign: Int) {
        guard var u = pools[r.pool] else {
            violations.append("reservation on unregistered pool \(r.pool)")
            return
        }
        if sign > 0 {
            u.units += r.units
            u.memory += r.memory
            if let g = r.group { u.accelerators[g] += r.accelerators }
        } else {
            u.units -= min(u.units, r.units)
            u.memory -= min(u.memory, r.memory)
            if let g = r.group { u.accelerators[g] -= min(u.accelerators[g], r.accelerators) }
        }
        pools[r.pool] = u
    }

    /// Leases active in the durable ledgers.
    public var activeLeases: [LeaseID] { leases.keys.sorted() }
    public var activeHolds: Int { holds.count }
}
