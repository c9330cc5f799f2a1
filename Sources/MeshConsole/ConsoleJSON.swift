public import Foundation
public import MeshCore
public import MeshWire

/// The console's answers as JSON for scripts: enums as strings, times as RFC 3339 UTC strings,
/// prices as decimal yuan, durations as decimal seconds, IDs as hex strings, every node with its
/// name when known. README.md ("Console JSON") documents each shape; these types are the one
/// definition of it.
public enum ConsoleJSON {
    /// One object, pretty-printed with sorted keys (`watch` prints one compact object a line).
    public static func encode(_ value: some Encodable, compact: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            compact ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// `2026-12-03T19:05:00.123Z`.
    public static func time(_ t: MeshInstant) -> String {
        var seconds = time_t(t.milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(t.milliseconds % 1000))
    }

    /// Yuan, exactly: micro-yuan are 10⁻⁶ yuan.
    public static func yuan(_ p: Price) -> Decimal { Decimal(p.microYuan) / 1_000_000 }

    /// Seconds, exactly: milliseconds are 10⁻³ seconds.
    public static func seconds(_ d: MeshDuration) -> Decimal { Decimal(d.milliseconds) / 1000 }

    /// A percentage from per mille, exactly.
    public static func percent(_ permille: UInt16) -> Decimal { Decimal(permille) / 10 }
}

/// A node: its ID and, when known, its name.
public struct NodeJSON: Encodable, Equatable {
    public var id: String
    public var name: String?
    init(_ node: NodeID, _ names: NodeDirectory) {
        id = node.hex
        name = names.name(of: node)?.name
    }
}

/// A pool: its compute ID, its owner and its local name.
public struct PoolRefJSON: Encodable, Equatable {
    public var id: String
    public var owner: NodeJSON
    public var name: String
    init(_ pool: ComputeID, _ names: NodeDirectory) {
        id = pool.description
        owner = NodeJSON(pool.owner, names)
        name = pool.localName
    }
}

public struct StatusJSON: Encodable {
    public struct Members: Encodable {
        public var alive: UInt32
        public var suspect: UInt32
        public var dead: UInt32
    }
    public struct Ledger: Encodable {
        public var pools: UInt32
        public var activeHolds: UInt32
        public var activeLeases: UInt32
    }
    public var node: NodeJSON
    public var role: String
    public var region: String
    public var software: String
    public var now: String
    public var uptimeSeconds: Decimal
    public var incarnation: UInt64
    public var members: Members
    public var ledger: Ledger

    public init(_ s: Status) {
        node = NodeJSON(s.nodeID, s.directory)
        role = s.role.description
        region = s.region.code
        software = s.software
        now = ConsoleJSON.time(s.now)
        uptimeSeconds = ConsoleJSON.seconds(s.uptime)
        incarnation = s.incarnation
        members = Members(alive: s.aliveMembers, suspect: s.suspectMembers, dead: s.deadMembers)
        ledger = Ledger(pools: s.pools, activeHolds: s.activeHolds, activeLeases: s.activeLeases)
    }
}

public struct MembersJSON: Encodable {
    public struct Member: Encodable {
        public var node: NodeJSON
        public var role: String
        public var region: String
        public var address: String
        public var status: String
        public var incarnation: UInt64
        public var suspectedBy: NodeJSON?
        public var sinceChangeSeconds: Decimal
        /// The answering node's latest direct-probe round trip to the member; absent when
        /// unknown (issue 17).
        public var roundTripMilliseconds: Decimal?
    }
    public var members: [Member]

    public init(_ rows: [MemberRow]) { self.init(Members(members: rows, more: false)) }

    public init(_ list: Members) {
        let names = list.members.directory
        members = list.members.map { r in
            Member(
                node: NodeJSON(r.update.node, names), role: r.update.role.description, region: r.update.region.code,
                address: r.update.address.description, status: r.update.status.description, incarnation: r.update.incarnation,
                suspectedBy: r.update.suspectedBy.map { NodeJSON($0, names) },
                sinceChangeSeconds: ConsoleJSON.seconds(r.sinceChange),
                roundTripMilliseconds: list.roundTrip(of: r.update.node).map { Decimal($0.microseconds) / 1000 })
        }
    }
}

public struct InventoryJSON: Encodable {
    public struct Accelerators: Encodable {
        public var kind: String
        public var vendor: String
        public var model: String
        public var count: UInt32
        public var free: UInt32?
        public var memoryMiBPerDevice: UInt32
    }
    public struct Pool: Encodable {
        public var pool: PoolRefJSON
        public var displayName: String
        public var residency: String
        public var architecture: String
        public var accelerators: [Accelerators]
        public var computeUnits: UInt64
        public var freeComputeUnits: UInt64?
        public var memoryMiB: UInt64
        public var freeMemoryMiB: UInt64?
        public var interconnect: String
        /// The current price (the availability record's when there is one), in yuan.
        public var pricePerUnitHour: Decimal
        /// The descriptor's list price, in yuan.
        public var listPricePerUnitHour: Decimal
        public var certifications: [String]
        public var greenEnergyPercent: Decimal
        public var accepts: String
        public var epoch: UInt64
        public var sequence: UInt64
        public var ageSeconds: Decimal
    }
    public struct Summary: Encodable {
        public struct Accelerators: Encodable {
            public var kind: String
            public var vendor: String
            public var model: String
            public var total: UInt64
            public var free: UInt64
        }
        public var region: String
        public var origin: NodeJSON
        public var version: UInt64
        public var issuedAt: String
        public var validUntil: String
        public var nodes: UInt32
        public var pools: UInt32
        public var totalComputeUnits: UInt64
        public var freeComputeUnits: UInt64
        public var accelerators: [Accelerators]
        public var minPricePerUnitHour: Decimal
        public var certifications: [String]
        public var greenEnergyPercent: Decimal
    }
    public var pools: [Pool]
    public var regions: [Summary]
    public var more: Bool

    public init(_ inventory: Inventory) {
        let names = NodeDirectory(inventory.names)
        pools = inventory.pools.compactMap { row in
            guard case .descriptor(let d) = row.descriptor.body else { return nil }
            var free: PoolAvailability?
            if case .availability(let a)? = row.availability?.body { free = a }
            return Pool(
                pool: PoolRefJSON(d.id, names), displayName: d.displayName, residency: d.residency.code,
                architecture: d.architecture.description,
                accelerators: d.accelerators.enumerated().map { i, g in
                    Accelerators(
                        kind: g.kind.description, vendor: g.vendor, model: g.model, count: g.count,
                        free: free.flatMap { i < $0.freeAccelerators.count ? $0.freeAccelerators[i] : nil },
                        memoryMiBPerDevice: g.memoryMiBPerDevice)
                }, computeUnits: d.computeUnits, freeComputeUnits: free?.freeComputeUnits, memoryMiB: d.memoryMiB,
                freeMemoryMiB: free?.freeMemoryMiB, interconnect: d.interconnect.description,
                pricePerUnitHour: ConsoleJSON.yuan(free?.pricePerUnitHour ?? d.pricePerUnitHour),
                listPricePerUnitHour: ConsoleJSON.yuan(d.pricePerUnitHour), certifications: d.certifications.map(\.name),
                greenEnergyPercent: ConsoleJSON.percent(d.greenEnergyPermille), accepts: TextFormat.policy(d.policy),
                epoch: row.descriptor.epoch, sequence: (row.availability ?? row.descriptor).sequence,
                ageSeconds: ConsoleJSON.seconds(row.age))
        }
        regions = inventory.summaries.map { s in
            Summary(
                region: s.region.code, origin: NodeJSON(s.origin, names), version: s.version,
                issuedAt: ConsoleJSON.time(s.issuedAt), validUntil: ConsoleJSON.time(s.validUntil), nodes: s.nodeCount,
                pools: s.poolCount, totalComputeUnits: s.totalComputeUnits, freeComputeUnits: s.freeComputeUnits,
                accelerators: s.accelerators.map {
                    .init(kind: $0.kind.description, vendor: $0.vendor, model: $0.model, total: $0.total, free: $0.free)
                }, minPricePerUnitHour: ConsoleJSON.yuan(s.minPricePerUnitHour),
                certifications: s.certifications.map(\.name), greenEnergyPercent: ConsoleJSON.percent(s.greenEnergyPermille))
        }
        more = inventory.more
    }
}

public struct LeaseJSON: Encodable {
    public var id: String
    public var holdID: String
    public var pool: PoolRefJSON
    public var tenant: String
    public var computeUnits: UInt64
    public var memoryMiB: UInt64
    public var accelerators: UInt32
    public var pricePerUnitHour: Decimal
    public var startsAt: String
    public var expiresAt: String

    public init(_ l: Lease, names: NodeDirectory) {
        id = l.leaseID.description
        holdID = l.holdID.description
        pool = PoolRefJSON(l.pool, names)
        tenant = l.tenant.name
        computeUnits = l.computeUnits
        memoryMiB = l.memoryMiB
        accelerators = l.acceleratorCount
        pricePerUnitHour = ConsoleJSON.yuan(l.pricePerUnitHour)
        startsAt = ConsoleJSON.time(l.startsAt)
        expiresAt = ConsoleJSON.time(l.expiresAt)
    }
}

public struct PlacementsJSON: Encodable {
    public var leases: [LeaseJSON]
    public var more: Bool
    public init(_ p: Placements) {
        let names = NodeDirectory(p.names)
        leases = p.leases.map { LeaseJSON($0, names: names) }
        more = p.more
    }
}

public struct VerdictJSON: Encodable {
    public struct Score: Encodable {
        public var total: Decimal
        public var price: Decimal
        public var latency: Decimal
        public var green: Decimal
    }
    public var pool: PoolRefJSON
    /// `chosen`, `scored` or `filtered`.
    public var verdict: String
    public var score: Score?
    /// For `filtered`: the filter's name (`price`, `capacity`, …) and what it saw.
    public var reason: String?
    public var detail: String?
    public var inventoryEpoch: UInt64
    public var inventorySequence: UInt64
    public var inventoryAgeSeconds: Decimal

    public init(_ v: CandidateVerdict, chosen: ComputeID?, names: NodeDirectory) {
        pool = PoolRefJSON(v.pool, names)
        switch v.outcome {
        case .scored(let s):
            verdict = v.pool == chosen ? "chosen" : "scored"
            func part(_ ppm: UInt32) -> Decimal { Decimal(ppm) / 1_000_000 }
            score = Score(total: part(s.total), price: part(s.price), latency: part(s.latency), green: part(s.green))
        case .filtered(let filter, let text):
            verdict = "filtered"
            reason = filter.name
            detail = text.isEmpty ? nil : text
        }
        inventoryEpoch = v.inventoryEpoch
        inventorySequence = v.inventorySequence
        inventoryAgeSeconds = ConsoleJSON.seconds(v.inventoryAge)
    }
}

public struct ExplanationJSON: Encodable {
    public var requestID: String
    public var decidedBy: NodeJSON
    public var decidedAt: String
    public var path: [NodeJSON]
    public var considered: UInt32
    public var scored: UInt32
    public var filtered: UInt32
    public var chosen: PoolRefJSON?
    public var verdicts: [VerdictJSON]

    public init(_ e: Explanation, names: NodeDirectory) {
        requestID = e.requestID.description
        decidedBy = NodeJSON(e.decidedBy, names)
        decidedAt = ConsoleJSON.time(e.decidedAt)
        path = e.path.map { NodeJSON($0, names) }
        considered = e.consideredCount
        scored = e.scoredCount
        filtered = e.filteredCount
        chosen = e.chosen.map { PoolRefJSON($0, names) }
        verdicts = e.verdicts.map { VerdictJSON($0, chosen: e.chosen, names: names) }
    }
}

public struct WhyJSON: Encodable {
    public var explanation: ExplanationJSON
    public var focus: VerdictJSON?
    public init(_ w: Why) {
        let names = NodeDirectory(w.names)
        explanation = ExplanationJSON(w.explanation, names: names)
        focus = w.focus.map { VerdictJSON($0, chosen: w.explanation.chosen, names: names) }
    }
}

public struct OutcomeJSON: Encodable {
    public var requestID: String
    public var idempotencyKey: String
    /// `placed` or `refused`.
    public var result: String
    public var reason: String?
    public var message: String?
    public var leases: [LeaseJSON]
    public var acknowledged: Bool
    public var explanation: ExplanationJSON

    public init(_ o: Outcome, names: NodeDirectory) {
        requestID = o.requestID.description
        idempotencyKey = o.idempotencyKey
        acknowledged = o.acknowledged
        explanation = ExplanationJSON(o.explanation, names: names)
        switch o.result {
        case .placed(let leases):
            result = "placed"
            self.leases = leases.map { LeaseJSON($0, names: names) }
        case .refused(let why, let text):
            result = "refused"
            reason = why.description
            message = text
            leases = []
        }
    }
}

public struct EventJSON: Encodable {
    public var sequence: UInt64
    public var at: String
    public var kind: String
    public var severity: String
    public var subject: String
    public var detail: String
    public init(_ e: Event) {
        sequence = e.sequence
        at = ConsoleJSON.time(e.at)
        kind = e.kind.name
        severity = e.severity.name
        subject = e.subject
        detail = e.detail
    }
}

public struct RegisteredJSON: Encodable {
    public var pool: PoolRefJSON
    public var epoch: UInt64
    public var sequence: UInt64
    public init(_ r: PoolRegistered, names: NodeDirectory) {
        pool = PoolRefJSON(r.id, names)
        epoch = r.epoch
        sequence = r.sequence
    }
}
