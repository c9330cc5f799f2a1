public import MeshCore

// MARK: - STATUS

/// Asks a node for its status. Console messages are accepted only from operator-console peers.
public struct StatusRequest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.statusRequest
    public init() {}
    public func encode(to writer: inout WireWriter) { writer.writeNoTaggedFields() }
    public init(from reader: inout WireReader) throws(WireError) { try reader.skipTaggedFields("status request") }
}

/// A node's status, for the console's front page.
public struct Status: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.status
    public var nodeID: NodeID
    public var role: Role
    public var region: Region
    public var software: String
    public var now: MeshInstant
    public var uptime: MeshDuration
    public var incarnation: UInt64
    public var aliveMembers: UInt32
    public var suspectMembers: UInt32
    public var deadMembers: UInt32
    public var pools: UInt32
    public var activeHolds: UInt32
    public var activeLeases: UInt32
    /// The node's configured name (tagged field 0; nil when absent).
    public var name: NodeName?

    public init(
        nodeID: NodeID, role: Role, region: Region, software: String, now: MeshInstant, uptime: MeshDuration,
        incarnation: UInt64, aliveMembers: UInt32, suspectMembers: UInt32, deadMembers: UInt32, pools: UInt32,
        activeHolds: UInt32, activeLeases: UInt32, name: NodeName? = nil
    ) {
        self.nodeID = nodeID
        self.role = role
        self.region = region
        self.software = software
        self.now = now
        self.uptime = uptime
        self.incarnation = incarnation
        self.aliveMembers = aliveMembers
        self.suspectMembers = suspectMembers
        self.deadMembers = deadMembers
        self.pools = pools
        self.activeHolds = activeHolds
        self.activeLeases = activeLeases
        self.name = name
    }

    public func encode(to writer: inout WireWriter) {
        nodeID.encode(to: &writer)
        role.encode(to: &writer)
        region.encode(to: &writer)
        writer.writeString(software, maxBytes: FieldLimits.maxShortTextBytes)
        now.encode(to: &writer)
        uptime.encode(to: &writer)
        writer.writeUVarint(incarnation)
        for count in [aliveMembers, suspectMembers, deadMembers, pools, activeHolds, activeLeases] {
            writer.writeUVarint(UInt64(count))
        }
        if let name {
            writer.writeTaggedFields([(0, { name.encode(to: &$0) })])
        } else {
            writer.writeNoTaggedFields()
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        nodeID = try NodeID(from: &reader)
        role = try Role(from: &reader)
        region = try Region(from: &reader)
        software = try reader.readString(maxBytes: FieldLimits.maxShortTextBytes, "software")
        now = try MeshInstant(from: &reader)
        uptime = try MeshDuration(from: &reader)
        incarnation = try reader.readUVarint("incarnation")
        aliveMembers = try reader.readUVarint32("alive members")
        suspectMembers = try reader.readUVarint32("suspect members")
        deadMembers = try reader.readUVarint32("dead members")
        pools = try reader.readUVarint32("pools")
        activeHolds = try reader.readUVarint32("active holds")
        activeLeases = try reader.readUVarint32("active leases")
        var name: NodeName? = nil
        try reader.readTaggedFields("status") { (tag, r: inout WireReader) throws(WireError) in
            guard tag == 0 else { return false }
            name = try NodeName(from: &r)
            return true
        }
        self.name = name
    }
}

// MARK: - Name directory

extension NamedNode: WireCodable {
    public func encode(to writer: inout WireWriter) {
        node.encode(to: &writer)
        name.encode(to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let node = try NodeID(from: &reader)
        self.init(node: node, name: try NodeName(from: &reader))
    }
}

extension WireWriter {
    /// Tag 0 `names` of INVENTORY, PLACEMENTS and WHY (SPEC §5.4.22): omitted when empty.
    fileprivate mutating func writeNamesTag(_ names: [NamedNode]) {
        if names.isEmpty {
            writeNoTaggedFields()
            return
        }
        precondition(
            zip(names, names.dropFirst()).allSatisfy { $0.node < $1.node }, "a name directory is in strict NodeID order")
        writeTaggedFields([(0, { $0.writeArray(names, maxCount: FieldLimits.maxNamedNodes) { w, v in v.encode(to: &w) } })])
    }
}

extension WireReader {
    /// Reads the tagged section holding tag 0 `names`: at most ``FieldLimits/maxNamedNodes``
    /// entries in strictly increasing NodeID order (a repeat or a step back is `invalid-value`
    /// at that entry).
    fileprivate mutating func readNamesTag(_ what: StaticString) throws(WireError) -> [NamedNode] {
        var names: [NamedNode] = []
        try readTaggedFields(what) { (tag, r: inout WireReader) throws(WireError) in
            guard tag == 0 else { return false }
            let count = try r.readCount(maxCount: FieldLimits.maxNamedNodes, minElementBytes: 34, "names")
            names.reserveCapacity(count)
            for _ in 0..<count {
                let start = r.offset
                let entry = try NamedNode(from: &r)
                if let last = names.last, entry.node <= last.node {
                    throw WireError(.invalidValue, at: start, "names are not in strictly increasing node order")
                }
                names.append(entry)
            }
            return true
        }
        return names
    }
}

// MARK: - MEMBERS

/// Asks for one page of the membership list, in NodeID order, starting after `after`.
public struct MembersRequest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.membersRequest
    public var after: NodeID?
    public var limit: UInt16

    public init(after: NodeID? = nil, limit: UInt16 = 256) {
        self.after = after
        self.limit = limit
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeOptional(after) { w, v in v.encode(to: &w) }
        precondition(Int(limit) <= FieldLimits.maxConsoleRows, "page limit \(limit) > \(FieldLimits.maxConsoleRows)")
        writer.writeUVarint(UInt64(limit))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        after = try reader.readOptional("after") { (r: inout WireReader) throws(WireError) in try NodeID(from: &r) }
        limit = UInt16(try reader.readUVarint(max: UInt64(FieldLimits.maxConsoleRows), "limit"))
        try reader.skipTaggedFields("members request")
    }
}

/// One member as the console shows it: the latest update and how long ago the state changed.
public struct MemberRow: Hashable, Sendable, Codable, WireCodable {
    public var update: MemberUpdate
    public var sinceChange: MeshDuration

    public init(update: MemberUpdate, sinceChange: MeshDuration) {
        self.update = update
        self.sinceChange = sinceChange
    }

    public func encode(to writer: inout WireWriter) {
        update.encode(to: &writer)
        sinceChange.encode(to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        update = try MemberUpdate(from: &reader)
        sinceChange = try MeshDuration(from: &reader)
    }
}

/// The most recent direct-probe round trip the answering node measured to one member (MEMBERS
/// tag 0, SPEC §6.7.4). No tagged section.
public struct MemberRoundTrip: Hashable, Sendable, Codable, WireCodable {
    public var node: NodeID
    /// PROBE to PROBE_ACK, in microseconds (`uvarint32`).
    public var microseconds: UInt32

    public init(node: NodeID, microseconds: UInt32) {
        self.node = node
        self.microseconds = microseconds
    }

    /// The round trip of `roundTrip`, saturated at `UInt32.max` microseconds (about 71 minutes).
    public init(node: NodeID, roundTrip: MeshDuration) {
        let (micros, overflow) = roundTrip.milliseconds.multipliedReportingOverflow(by: 1_000)
        self.init(node: node, microseconds: overflow ? .max : UInt32(clamping: micros))
    }

    public func encode(to writer: inout WireWriter) {
        node.encode(to: &writer)
        writer.writeUVarint(UInt64(microseconds))
    }

    public init(from reader: inout WireReader) throws(WireError) {
        node = try NodeID(from: &reader)
        microseconds = try reader.readUVarint32("round trip")
    }
}

extension Array where Element == MemberRoundTrip {
    /// The entry for `node`, by bisection (the list is in strictly increasing NodeID order).
    public func roundTrip(of node: NodeID) -> MemberRoundTrip? {
        let low = Bisection.partitionPoint(count: count) { self[$0].node < node }
        return low < count && self[low].node == node ? self[low] : nil
    }
}

/// One page of members; `more` says whether another page follows.
public struct Members: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.members
    public var members: [MemberRow]
    public var more: Bool
    /// The answering node's latest direct-probe round trips to members of this page, in strictly
    /// increasing NodeID order (tagged field 0; empty when none is known). Issue 17.
    public var roundTrips: [MemberRoundTrip]

    public init(members: [MemberRow], more: Bool, roundTrips: [MemberRoundTrip] = []) {
        self.members = members
        self.more = more
        self.roundTrips = roundTrips
    }

    /// The round trip to `node`, if the page carries one.
    public func roundTrip(of node: NodeID) -> MemberRoundTrip? { roundTrips.roundTrip(of: node) }

    public func encode(to writer: inout WireWriter) {
        writer.writeArray(members, maxCount: FieldLimits.maxConsoleRows) { w, v in v.encode(to: &w) }
        writer.writeBool(more)
        if roundTrips.isEmpty {
            writer.writeNoTaggedFields()
            return
        }
        precondition(
            zip(roundTrips, roundTrips.dropFirst()).allSatisfy { $0.node < $1.node },
            "round trips are in strict NodeID order")
        precondition(roundTrips.count <= members.count, "at most one round trip a row")
        let roundTrips = roundTrips
        writer.writeTaggedFields([
            (0, { $0.writeArray(roundTrips, maxCount: FieldLimits.maxConsoleRows) { w, v in v.encode(to: &w) } })
        ])
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let members = try reader.readArray(maxCount: FieldLimits.maxConsoleRows, minElementBytes: 41, "members") {
            (r: inout WireReader) throws(WireError) in try MemberRow(from: &r)
        }
        more = try reader.readBool("more")
        var roundTrips: [MemberRoundTrip] = []
        try reader.readTaggedFields("members") { (tag, r: inout WireReader) throws(WireError) in
            guard tag == 0 else { return false }
            // At most one entry a row of the page, each naming a row, in strict NodeID order.
            let count = try r.readCount(maxCount: members.count, minElementBytes: 33, "round trips")
            let rows = Set(members.map(\.update.node))
            roundTrips.reserveCapacity(count)
            for _ in 0..<count {
                let start = r.offset
                let entry = try MemberRoundTrip(from: &r)
                if let last = roundTrips.last, entry.node <= last.node {
                    throw WireError(.invalidValue, at: start, "round trips are not in strictly increasing node order")
                }
                guard rows.contains(entry.node) else {
                    throw WireError(.invalidValue, at: start, "a round trip names a node that is not a row of the page")
                }
                roundTrips.append(entry)
            }
            return true
        }
        self.members = members
        self.roundTrips = roundTrips
    }
}

// MARK: - INVENTORY

/// Asks for one page of the node's inventory view, optionally of one region.
public struct InventoryRequest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.inventoryRequest
    public var region: Region?
    public var after: ComputeID?
    public var limit: UInt16

    public init(region: Region? = nil, after: ComputeID? = nil, limit: UInt16 = 256) {
        self.region = region
        self.after = after
        self.limit = limit
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeOptional(region) { w, v in v.encode(to: &w) }
        writer.writeOptional(after) { w, v in v.encode(to: &w) }
        precondition(Int(limit) <= FieldLimits.maxConsoleRows, "page limit \(limit) > \(FieldLimits.maxConsoleRows)")
        writer.writeUVarint(UInt64(limit))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        region = try reader.readOptional("region") { (r: inout WireReader) throws(WireError) in try Region(from: &r) }
        after = try reader.readOptional("after") { (r: inout WireReader) throws(WireError) in try ComputeID(from: &r) }
        limit = UInt16(try reader.readUVarint(max: UInt64(FieldLimits.maxConsoleRows), "limit"))
        try reader.skipTaggedFields("inventory request")
    }
}

/// One pool as the node sees it: the newest descriptor and availability records and their age.
public struct PoolRow: Hashable, Sendable, Codable, WireCodable {
    public var descriptor: InventoryRecord
    public var availability: InventoryRecord?
    public var age: MeshDuration

    public init(descriptor: InventoryRecord, availability: InventoryRecord?, age: MeshDuration) {
        self.descriptor = descriptor
        self.availability = availability
        self.age = age
    }

    public func encode(to writer: inout WireWriter) {
        descriptor.encode(to: &writer)
        writer.writeOptional(availability) { w, v in v.encode(to: &w) }
        age.encode(to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        descriptor = try InventoryRecord(from: &reader)
        availability = try reader.readOptional("availability") { (r: inout WireReader) throws(WireError) in
            try InventoryRecord(from: &r)
        }
        age = try MeshDuration(from: &reader)
    }
}

/// One page of the inventory view plus the region summaries the node holds.
public struct Inventory: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.inventory
    public var pools: [PoolRow]
    public var summaries: [RegionSummary]
    public var more: Bool
    /// The names of the pools' owners, as far as the node knows them (tagged field 0).
    public var names: [NamedNode]

    public init(pools: [PoolRow], summaries: [RegionSummary], more: Bool, names: [NamedNode] = []) {
        self.pools = pools
        self.summaries = summaries
        self.more = more
        self.names = names
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeArray(pools, maxCount: FieldLimits.maxConsoleRows) { w, v in v.encode(to: &w) }
        writer.writeArray(summaries, maxCount: FieldLimits.maxRegionSummaries) { w, v in v.encode(to: &w) }
        writer.writeBool(more)
        writer.writeNamesTag(names)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        pools = try reader.readArray(maxCount: FieldLimits.maxConsoleRows, minElementBytes: 42, "pools") {
            (r: inout WireReader) throws(WireError) in try PoolRow(from: &r)
        }
        summaries = try reader.readArray(maxCount: FieldLimits.maxRegionSummaries, minElementBytes: 47, "region summaries") {
            (r: inout WireReader) throws(WireError) in try RegionSummary(from: &r)
        }
        more = try reader.readBool("more")
        names = try reader.readNamesTag("inventory")
    }
}

// MARK: - PLACEMENTS

/// Asks for the leases a node holds as owner, optionally of one tenant.
public struct PlacementsRequest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.placementsRequest
    public var tenant: TenantID?
    public var limit: UInt16

    public init(tenant: TenantID? = nil, limit: UInt16 = 256) {
        self.tenant = tenant
        self.limit = limit
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeOptional(tenant) { w, v in v.encode(to: &w) }
        precondition(Int(limit) <= FieldLimits.maxConsoleRows, "page limit \(limit) > \(FieldLimits.maxConsoleRows)")
        writer.writeUVarint(UInt64(limit))
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        tenant = try reader.readOptional("tenant") { (r: inout WireReader) throws(WireError) in try TenantID(from: &r) }
        limit = UInt16(try reader.readUVarint(max: UInt64(FieldLimits.maxConsoleRows), "limit"))
        try reader.skipTaggedFields("placements request")
    }
}

/// One page of leases.
public struct Placements: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.placements
    public var leases: [Lease]
    public var more: Bool
    /// The names of the leased pools' owners (tagged field 0).
    public var names: [NamedNode]

    public init(leases: [Lease], more: Bool, names: [NamedNode] = []) {
        self.leases = leases
        self.more = more
        self.names = names
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeArray(leases, maxCount: FieldLimits.maxConsoleRows) { w, v in v.encode(to: &w) }
        writer.writeBool(more)
        writer.writeNamesTag(names)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        leases = try reader.readArray(maxCount: FieldLimits.maxConsoleRows, minElementBytes: 48, "leases") {
            (r: inout WireReader) throws(WireError) in try Lease(from: &r)
        }
        more = try reader.readBool("more")
        names = try reader.readNamesTag("placements")
    }
}

// MARK: - WHY

/// "Why did request R end as it did?" and, with `pool`, "why not this pool?".
public struct WhyRequest: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.whyRequest
    public var requestID: RequestID
    public var pool: ComputeID?

    public init(requestID: RequestID, pool: ComputeID? = nil) {
        self.requestID = requestID
        self.pool = pool
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(requestID)
        writer.writeOptional(pool) { w, v in v.encode(to: &w) }
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        requestID = try reader.readID("request ID")
        pool = try reader.readOptional("pool") { (r: inout WireReader) throws(WireError) in try ComputeID(from: &r) }
        try reader.skipTaggedFields("why request")
    }
}

/// The explanation of a decision and, for "why not", the verdict on the pool asked about.
public struct Why: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.why
    public var explanation: Explanation
    public var focus: CandidateVerdict?
    /// The names of the nodes the explanation mentions: the decider, the forwarding path and the
    /// candidates' owners (tagged field 0).
    public var names: [NamedNode]

    public init(explanation: Explanation, focus: CandidateVerdict? = nil, names: [NamedNode] = []) {
        self.explanation = explanation
        self.focus = focus
        self.names = names
    }

    public func encode(to writer: inout WireWriter) {
        explanation.encode(to: &writer)
        writer.writeOptional(focus) { w, v in v.encode(to: &w) }
        writer.writeNamesTag(names)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        explanation = try Explanation(from: &reader)
        focus = try reader.readOptional("focus") { (r: inout WireReader) throws(WireError) in try CandidateVerdict(from: &r) }
        names = try reader.readNamesTag("why")
    }
}

// MARK: - Events

/// What an event is about; also the bits of a subscription mask (bit = 1 << (code - 1)).
public enum EventKind: UInt8, Sendable, Codable, CaseIterable {
    case membership = 1
    case inventory = 2
    case placement = 3
    case security = 4
    case lifecycle = 5

    /// This kind's bit in ``Subscribe/kinds``.
    public var mask: UInt32 { 1 << UInt32(rawValue - 1) }
}

/// How much an event matters.
public enum EventSeverity: UInt8, Sendable, Codable, CaseIterable {
    case debug = 1
    case info = 2
    case warning = 3
    case error = 4
}

/// Starts (or replaces) the connection's event subscription.
public struct Subscribe: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.subscribe
    /// A mask of ``EventKind/mask`` bits.
    public var kinds: UInt32
    /// Replay buffered events from this sequence on (0: only new events).
    public var fromSequence: UInt64

    public init(kinds: UInt32, fromSequence: UInt64 = 0) {
        self.kinds = kinds
        self.fromSequence = fromSequence
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeUVarint(UInt64(kinds))
        writer.writeUVarint(fromSequence)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        kinds = try reader.readUVarint32("kinds")
        fromSequence = try reader.readUVarint("from sequence")
        try reader.skipTaggedFields("subscribe")
    }
}

/// Ends the connection's event subscription.
public struct Unsubscribe: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.unsubscribe
    public init() {}
    public func encode(to writer: inout WireWriter) { writer.writeNoTaggedFields() }
    public init(from reader: inout WireReader) throws(WireError) { try reader.skipTaggedFields("unsubscribe") }
}

/// One event of the node's stream, in sequence order.
public struct Event: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.event
    /// The most bytes of a subject.
    public static let maxSubjectBytes = 256

    public var sequence: UInt64
    public var at: MeshInstant
    public var kind: EventKind
    public var severity: EventSeverity
    /// What the event is about, e.g. a node ID or a request ID.
    public var subject: String
    public var detail: String

    public init(sequence: UInt64, at: MeshInstant, kind: EventKind, severity: EventSeverity, subject: String, detail: String) {
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.severity = severity
        self.subject = subject
        self.detail = detail
    }

    public func encode(to writer: inout WireWriter) {
        writer.writeUVarint(sequence)
        at.encode(to: &writer)
        writer.writeU8(kind.rawValue)
        writer.writeU8(severity.rawValue)
        writer.writeString(subject, maxBytes: Event.maxSubjectBytes)
        writer.writeString(detail, maxBytes: FieldLimits.maxTextBytes)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        sequence = try reader.readUVarint("sequence")
        at = try MeshInstant(from: &reader)
        kind = try reader.readEnum("event kind")
        severity = try reader.readEnum("event severity")
        subject = try reader.readString(maxBytes: Event.maxSubjectBytes, "subject")
        detail = try reader.readString(maxBytes: FieldLimits.maxTextBytes, "detail")
        try reader.skipTaggedFields("event")
    }
}

// MARK: - Pool registration

/// Registers (or replaces) a pool on the node that receives it; the node becomes its owner and
/// issues its ComputeID, so `descriptor.id.owner` MUST be the receiving node.
public struct RegisterPool: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.registerPool
    public var descriptor: PoolDescriptor

    public init(descriptor: PoolDescriptor) { self.descriptor = descriptor }

    public func encode(to writer: inout WireWriter) {
        descriptor.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        descriptor = try PoolDescriptor(from: &reader)
        try reader.skipTaggedFields("register pool")
    }
}

/// The answer to REGISTER_POOL, after the registration is durably stored: the record version the
/// pool's descriptor was published at.
public struct PoolRegistered: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.poolRegistered
    public var id: ComputeID
    public var epoch: UInt64
    public var sequence: UInt64

    public init(id: ComputeID, epoch: UInt64, sequence: UInt64) {
        self.id = id
        self.epoch = epoch
        self.sequence = sequence
    }

    public func encode(to writer: inout WireWriter) {
        id.encode(to: &writer)
        writer.writeUVarint(epoch)
        writer.writeUVarint(sequence)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        id = try ComputeID(from: &reader)
        epoch = try reader.readUVarint("epoch")
        sequence = try reader.readUVarint("sequence")
        try reader.skipTaggedFields("pool registered")
    }
}
