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
        // Tag 1 `name`: the member's declared name, on any status, when known.
        var fields: [(tag: UInt64, body: (inout WireWriter) -> Void)] = []
        if status == .suspect, let suspectedBy { fields.append((0, { suspectedBy.encode(to: &$0) })) }
        if let name { fields.append((1, { name.encode(to: &$0) })) }
        if fields.isEmpty {
            writer.writeNoTaggedFields()
        } else {
            writer.writeTaggedFields(fields)
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
        var name: NodeName? = nil
        try reader.readTaggedFields("member update") { (tag, r: inout WireReader) throws(WireError) in
            switch tag {
            case 0: suspectedBy = try NodeID(from: &r)
            case 1: name = try NodeName(from: &r)
            default: return false
            }
            return true
        }
        // A suspecter means nothing on any other status: dropped, so equal facts compare equal.
        self.init(
            node: node, address: address, role: role, region: region, incarnation: incarnation, status: status,
            suspectedBy: status == .suspect ? suspectedBy : nil, name: name)
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

// MARK: - Message bodies (the data types live in MeshCore's LivenessMessages.swift)

extension Probe: WireMessageBody {
    public static let messageType = MessageType.probe

    public func encode(to writer: inout WireWriter) {
        from.encode(to: &writer)
        writer.writeUVarint(fromIncarnation)
        target.encode(to: &writer)
        writer.writeUpdates(updates)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let from = try NodeID(from: &reader)
        let incarnation = try reader.readUVarint("incarnation")
        let target = try NodeID(from: &reader)
        let updates = try reader.readUpdates()
        try reader.skipTaggedFields("probe")
        self = Probe(from: from, fromIncarnation: incarnation, target: target, updates: updates)
    }
}

extension ProbeAck: WireMessageBody {
    public static let messageType = MessageType.probeAck

    public func encode(to writer: inout WireWriter) {
        target.encode(to: &writer)
        writer.writeUVarint(incarnation)
        writer.writeUpdates(updates)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let target = try NodeID(from: &reader)
        let incarnation = try reader.readUVarint("incarnation")
        let updates = try reader.readUpdates()
        try reader.skipTaggedFields("probe ack")
        self = ProbeAck(target: target, incarnation: incarnation, updates: updates)
    }
}

extension IndirectProbe: WireMessageBody {
    public static let messageType = MessageType.indirectProbe

    public func encode(to writer: inout WireWriter) {
        from.encode(to: &writer)
        target.encode(to: &writer)
        targetAddress.encode(to: &writer)
        writer.writeBool(wantsNack)
        writer.writeUpdates(updates)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let from = try NodeID(from: &reader)
        let target = try NodeID(from: &reader)
        let address = try NetAddress(from: &reader)
        let wantsNack = try reader.readBool("wants nack")
        let updates = try reader.readUpdates()
        try reader.skipTaggedFields("indirect probe")
        self = IndirectProbe(from: from, target: target, targetAddress: address, wantsNack: wantsNack, updates: updates)
    }
}

extension Nack: WireMessageBody {
    public static let messageType = MessageType.nack

    public func encode(to writer: inout WireWriter) {
        helper.encode(to: &writer)
        target.encode(to: &writer)
        writer.writeNoTaggedFields()
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let helper = try NodeID(from: &reader)
        let target = try NodeID(from: &reader)
        try reader.skipTaggedFields("nack")
        self = Nack(helper: helper, target: target)
    }
}
