// The liveness messages of wire protocol v1 (Protocols/SPEC.md §6.4), defined once: the membership
// core decides with these values and `MeshWire` gives them their encodings.

/// PROBE, SWIM's direct probe ("ping"): are you alive? Answered by ``ProbeAck``.
public struct Probe: Hashable, Sendable, Codable {
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
}

/// PROBE_ACK: `target` is alive at `incarnation`. Sent by the target itself, or relayed by a
/// helper of an indirect probe.
public struct ProbeAck: Hashable, Sendable, Codable {
    /// The node that was probed and answered.
    public var target: NodeID
    public var incarnation: UInt64
    public var updates: [MemberUpdate]

    public init(target: NodeID, incarnation: UInt64, updates: [MemberUpdate] = []) {
        self.target = target
        self.incarnation = incarnation
        self.updates = updates
    }
}

/// INDIRECT_PROBE, SWIM's ping-req: please probe `target` for me and relay its ack (Lifeguard: and
/// send a NACK if it does not answer in time, so I learn that you, the helper, are alive).
public struct IndirectProbe: Hashable, Sendable, Codable {
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
}

/// NACK, Lifeguard's negative ack: the helper tried `target` and heard nothing in time.
public struct Nack: Hashable, Sendable, Codable {
    public var helper: NodeID
    public var target: NodeID

    public init(helper: NodeID, target: NodeID) {
        self.helper = helper
        self.target = target
    }
}
