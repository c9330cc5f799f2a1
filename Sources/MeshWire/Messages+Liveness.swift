public import MeshCore

extension MemberUpdate: WireCodable {
    public func encode(to writer: inout WireWriter) {
        node.encode(to: &writer)
        address.encode(to: &writer)
        role.encode(to: &writer)
        region.encode(to: &writer)
        writer.writeUVarint(incarnation)
        writer.writeU8(status.rawValue)
        // Tag 0 `suspectedBy` (SPEC §5.4.6): only on suspect facts that name their suspecter.
        if status == .suspect, let suspectedBy {
            writer.writeTaggedFields([(0, { suspectedBy.encode(to: &$0) })])
        } else {
            writer.writeNoTaggedFields()
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let node = try NodeID(from: &reader)
        let address = try NetAddress(from: &reader)
        let role = try Role(from: &reader)
        let region = try Region(from: &reader)
        let incarnation = try reader.readUVarint("incarnation")
        let status: MemberStatus = try reader.readEnum("member status")
        var suspectedBy: NodeID? = nil
        try reader.readTaggedFields("member update") { (tag, r: inout WireReader) throws(WireError) in
            guard tag == 0 else { return false }
            suspectedBy = try NodeID(from: &r)
            return true
        }
        // A suspecter means nothing on any other status: dropped, so equal facts compare equal.
        self.init(
            node: node, address: address, role: role, region: region, incarnation: incarnation, status: status,
            suspectedBy: status == .suspect ? suspectedBy : nil)
    }
}

extension WireWriter {
    fileprivate mutating func writeUpdates(_ updates: [MemberUpdate]) {
        writeArray(updates, maxCount: FieldLimits.maxPiggybackedUpdates) { w, v in v.encode(to: &w) }
    }
}

extension WireReader {
    fileprivate mutating func readUpdates() throws(WireError) -> [MemberUpdate] {
        try readArray(maxCount: FieldLimits.maxPiggybackedUpdates, minElementBytes: 40, "member updates") {
            (r: inout WireReader) throws(WireError) in try MemberUpdate(from: &r)
        }
    }
}

/// SWIM direct probe ("ping"): are you alive? Answered by ``ProbeAck``.
public struct Probe: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.probe
    public var from: NodeID
    public var fromIncarnation: UInt64
    public var target: NodeID
    public var updates: [MemberUpdate]

    public init(from: NodeID, fromIncarnation: UInt64, target: NodeID, updates: [MemberUpdate] = []) {
        self.from = from
        self.fromIncarnation = fromIncarnation
        self.target = target
        self.updates = updates
    }

    public func encode(to writer: inout WireWriter) {
        from.encode(to: &writer)
        writer.writeUVarint(fromIncarnation)
        target.encode(to: &writer)
        writer.writeUpdates(updates)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        from = try NodeID(from: &reader)
        fromIncarnation = try reader.readUVarint("incarnation")
        target = try NodeID(from: &reader)
        updates = try reader.readUpdates()
        try reader.skipTaggedFields("probe")
    }
}

/// SWIM ack: `target` is alive at `incarnation`. Sent by the target itself, or relayed by a
/// helper of an indirect probe.
public struct ProbeAck: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.probeAck
    /// The node that was probed and answered.
    public var target: NodeID
    public var incarnation: UInt64
    public var updates: [MemberUpdate]

    public init(target: NodeID, incarnation: UInt64, updates: [MemberUpdate] = []) {
        self.target = target
        self.incarnation = incarnation
        self.updates = updates
    }

    public func encode(to writer: inout WireWriter) {
        target.encode(to: &writer)
        writer.writeUVarint(incarnation)
        writer.writeUpdates(updates)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        target = try NodeID(from: &reader)
        incarnation = try reader.readUVarint("incarnation")
        updates = try reader.readUpdates()
        try reader.skipTaggedFields("probe ack")
    }
}

/// SWIM ping-req: please probe `target` for me and relay its ack (Lifeguard: and send a NACK if
/// it does not answer in time, so I learn that you, the helper, are alive).
public struct IndirectProbe: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.indirectProbe
    public var from: NodeID
    public var target: NodeID
    public var targetAddress: NetAddress
    public var wantsNack: Bool
    public var updates: [MemberUpdate]

    public init(from: NodeID, target: NodeID, targetAddress: NetAddress, wantsNack: Bool = true, updates: [MemberUpdate] = []) {
        self.from = from
        self.target = target
        self.targetAddress = targetAddress
        self.wantsNack = wantsNack
        self.updates = updates
    }

    public func encode(to writer: inout WireWriter) {
        from.encode(to: &writer)
        target.encode(to: &writer)
        targetAddress.encode(to: &writer)
        writer.writeBool(wantsNack)
        writer.writeUpdates(updates)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        from = try NodeID(from: &reader)
        target = try NodeID(from: &reader)
        targetAddress = try NetAddress(from: &reader)
        wantsNack = try reader.readBool("wants nack")
        updates = try reader.readUpdates()
        try reader.skipTaggedFields("indirect probe")
    }
}

/// Lifeguard nack: the helper tried `target` and heard nothing in time.
public struct Nack: WireMessageBody, Hashable, Codable {
    public static let messageType = MessageType.nack
    public var helper: NodeID
    public var target: NodeID

    public init(helper: NodeID, target: NodeID) {
        self.helper = helper
        self.target = target
    }

    public func encode(to writer: inout WireWriter) {
        helper.encode(to: &writer)
        target.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        helper = try NodeID(from: &reader)
        target = try NodeID(from: &reader)
        try reader.skipTaggedFields("nack")
    }
}
