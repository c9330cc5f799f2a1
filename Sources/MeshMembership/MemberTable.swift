import MeshCore

/// A reference to a member's slot in a ``MemberTable`` that notices reuse: the slot number and
/// the slot's generation when the reference was taken. Once the member is forgotten and its slot
/// given to another member, the generation differs and the reference resolves to nothing.
struct SlotRef: Hashable, Sendable {
    var index: UInt32
    var generation: UInt32
}

/// An open suspicion with the member that raised the suspect fact this node holds.
struct SuspectEntry: Hashable, Sendable {
    var node: NodeID
    /// The ``MemberUpdate/suspectedBy`` of the suspect fact held.
    var suspectedBy: NodeID?
    var suspicion: Suspicion
}

/// Every member a node knows (alive, suspect and tombstones), in compact form.
///
/// Why compact: a node of a region of n members holds n of these, and the simulator holds n² of
/// them: 10⁸ at n = 10,000. A dictionary of member states took about 350 bytes a member
/// with its slack (216 a slot, at most 3/4 full) and the sorted ID lists beside it; this table
/// takes about 120:
/// - one ``Slot`` (88 bytes) a member, in an array whose freed slots are reused;
/// - a lookup index in node order: the first word of each node ID and its slot number (12 bytes
///   a member), searched by bisection over contiguous words;
/// - the status lists in node order as slot numbers (4 bytes a member): live (alive and suspect)
///   and gone (dead and left); suspicions, which are few, in ``suspects`` with their suspecter;
/// - declared names in ``names``, in node order, for named members only: nothing for the
///   simulator's nameless members (n² of them), 48 bytes a named member in a deployment (n).
///
/// Contract: lists are always in node order, so any choice a caller makes from them ("the i-th
/// live member") depends only on the members known, never on slot numbers or insertion order.
/// The table never reads a clock and never iterates a hash table.
struct MemberTable: Sendable {
    /// One member. The fact's ``MemberUpdate/suspectedBy`` lives in ``SuspectEntry``, as only a
    /// suspect fact has one.
    struct Slot: Sendable {
        var node: NodeID
        var incarnation: UInt64
        /// When this node accepted the current fact.
        var changedAt: MeshInstant
        var address: NetAddress
        var role: Role
        var status: MemberStatus
        /// Bumped each time the slot is freed, so that stale ``SlotRef``s resolve to nothing.
        var generation: UInt32
        var region: Region
        /// The most recent direct-probe round trip to this member in milliseconds, or
        /// ``unknownRoundTrip``: kept while the member is alive or suspect (issue 17).
        var roundTripMilliseconds: UInt32 = Slot.unknownRoundTrip

        static let unknownRoundTrip = UInt32.max
    }

    private var slots: [Slot] = []
    /// Freed slot numbers, reused last-freed first.
    private var freeSlots: [UInt32] = []
    /// `w0` of each known node ID, in node order (parallel to ``sortedSlots``).
    private var sortedKeys: [UInt64] = []
    /// The slot of each known node, in node order.
    private var sortedSlots: [UInt32] = []
    /// Alive and suspect members' slots, in node order.
    private var liveSlots: [UInt32] = []
    /// Dead and left members' slots, in node order.
    private var goneSlots: [UInt32] = []
    /// Open suspicions, in node order: exactly the suspect members.
    private(set) var suspects: [SuspectEntry] = []
    /// The ``MemberUpdate/name`` of each member whose fact carries one, in node order.
    private(set) var names: [NamedNode] = []

    /// An empty table.
    init() {}

    /// A table of `updates` at once (a bootstrap list): O(n log n) where inserting one by one is
    /// O(n²). On duplicates the later fact wins. Each suspect fact gets `suspicion(liveCount)`,
    /// given the number of alive and suspect members in the table.
    init(_ updates: [MemberUpdate], changedAt: MeshInstant, suspicion: (Int) -> Suspicion) {
        // Stable order by node, later duplicates after earlier ones; keep the last of each run.
        let ordered = updates.indices.sorted { a, b in
            updates[a].node != updates[b].node ? updates[a].node < updates[b].node : a < b
        }
        var unique: [MemberUpdate] = []
        unique.reserveCapacity(ordered.count)
        for i in ordered {
            if let last = unique.last, last.node == updates[i].node {
                unique[unique.count - 1] = updates[i]
            } else {
                unique.append(updates[i])
            }
        }
        slots.reserveCapacity(unique.count)
        sortedKeys.reserveCapacity(unique.count)
        sortedSlots.reserveCapacity(unique.count)
        for update in unique {
            let slot = UInt32(slots.count)
            slots.append(Slot(update, changedAt: changedAt, generation: 0))
            sortedKeys.append(update.node.w0)
            sortedSlots.append(slot)
            switch update.status {
            case .alive, .suspect: liveSlots.append(slot)
            case .dead, .left: goneSlots.append(slot)
            }
        }
        for update in unique {
            if let name = update.name { names.append(NamedNode(node: update.node, name: name)) }
        }
        for update in unique where update.status == .suspect {
            suspects.append(
                SuspectEntry(node: update.node, suspectedBy: update.suspectedBy, suspicion: suspicion(liveSlots.count)))
        }
    }

    // MARK: - Lookup

    /// The number of members known.
    var count: Int { sortedSlots.count }

    /// Where `node` is in the lookup index, or where it would go.
    private func position(of node: NodeID) -> (index: Int, found: Bool) {
        var low = Bisection.partitionPoint(count: sortedKeys.count) { sortedKeys[$0] < node.w0 }
        // Equal first words (rare) are ordered by the rest of the ID.
        while low < sortedKeys.count, sortedKeys[low] == node.w0 {
            let other = slots[Int(sortedSlots[low])].node
            if other == node { return (low, true) }
            if node < other { break }
            low += 1
        }
        return (low, false)
    }

    private func slotIndex(of node: NodeID) -> Int? {
        let (index, found) = position(of: node)
        return found ? Int(sortedSlots[index]) : nil
    }

    /// Whether `node` is known.
    func contains(_ node: NodeID) -> Bool { position(of: node).found }

    /// The current fact about `node`.
    func update(of node: NodeID) -> MemberUpdate? { slotIndex(of: node).map(update(at:)) }

    /// Every known member's current fact, in node order.
    var allUpdates: [MemberUpdate] { sortedSlots.map { update(at: Int($0)) } }

    /// The status of `node`.
    func status(of node: NodeID) -> MemberStatus? { slotIndex(of: node).map { slots[$0].status } }

    /// The address of `node`.
    func address(of node: NodeID) -> NetAddress? { slotIndex(of: node).map { slots[$0].address } }

    /// When the current fact about `node` was accepted.
    func changedAt(of node: NodeID) -> MeshInstant? { slotIndex(of: node).map { slots[$0].changedAt } }

    private func update(at index: Int) -> MemberUpdate {
        let slot = slots[index]
        var suspectedBy: NodeID?
        if slot.status == .suspect {
            let (at, found) = suspectPosition(of: slot.node)
            precondition(found, "suspect member \(slot.node) has no open suspicion")
            suspectedBy = suspects[at].suspectedBy
        }
        return MemberUpdate(
            node: slot.node, address: slot.address, role: slot.role, region: slot.region, incarnation: slot.incarnation,
            status: slot.status, suspectedBy: suspectedBy, name: name(of: slot.node))
    }

    // MARK: - Names

    private func namePosition(of node: NodeID) -> (index: Int, found: Bool) {
        let low = Bisection.partitionPoint(count: names.count) { names[$0].node < node }
        return (low, low < names.count && names[low].node == node)
    }

    /// The name on the current fact about `node`, if any.
    func name(of node: NodeID) -> NodeName? {
        let (index, found) = namePosition(of: node)
        return found ? names[index].name : nil
    }

    /// Records `name` (nil: none) as `node`'s.
    private mutating func setName(_ name: NodeName?, of node: NodeID) {
        let (index, found) = namePosition(of: node)
        switch (name, found) {
        case (let name?, true): names[index].name = name
        case (let name?, false): names.insert(NamedNode(node: node, name: name), at: index)
        case (nil, true): names.remove(at: index)
        case (nil, false): break
        }
    }

    // MARK: - Round trips

    /// The most recent direct-probe round trip to `node`, if measured while it is live.
    func roundTrip(of node: NodeID) -> MeshDuration? {
        let (position, found) = position(of: node)
        guard found else { return nil }
        let milliseconds = slots[Int(sortedSlots[position])].roundTripMilliseconds
        return milliseconds == Slot.unknownRoundTrip ? nil : .milliseconds(UInt64(milliseconds))
    }

    /// Records a direct-probe round trip to live member `node` (ignored for an unknown or gone
    /// member); saturates just below the "unknown" marker.
    mutating func setRoundTrip(_ roundTrip: MeshDuration, of node: NodeID) {
        let (position, found) = position(of: node)
        guard found else { return }
        let index = Int(sortedSlots[position])
        guard slots[index].status == .alive || slots[index].status == .suspect else { return }
        slots[index].roundTripMilliseconds = UInt32(min(roundTrip.milliseconds, UInt64(Slot.unknownRoundTrip - 1)))
    }

    // MARK: - Suspicions

    private func suspectPosition(of node: NodeID) -> (index: Int, found: Bool) {
        let low = Bisection.partitionPoint(count: suspects.count) { suspects[$0].node < node }
        return (low, low < suspects.count && suspects[low].node == node)
    }

    /// The open suspicion of `node`, if it is suspect.
    func suspicion(of node: NodeID) -> Suspicion? {
        let (index, found) = suspectPosition(of: node)
        return found ? suspects[index].suspicion : nil
    }

    /// Replaces the open suspicion of suspect member `node`.
    mutating func setSuspicion(_ suspicion: Suspicion, of node: NodeID) {
        let (index, found) = suspectPosition(of: node)
        precondition(found, "no open suspicion of \(node)")
        suspects[index].suspicion = suspicion
    }

    // MARK: - Changes

    /// Records `update` as the current fact about its member, new or known, accepted at
    /// `changedAt`; a suspect fact needs its `suspicion`, any other fact none.
    mutating func set(_ update: MemberUpdate, changedAt: MeshInstant, suspicion: Suspicion?) {
        precondition((update.status == .suspect) == (suspicion != nil), "a suspicion goes with a suspect fact: \(update)")
        let (position, found) = position(of: update.node)
        let index: Int
        if found {
            index = Int(sortedSlots[position])
            removeFromStatusList(index)
            let (generation, roundTrip) = (slots[index].generation, slots[index].roundTripMilliseconds)
            slots[index] = Slot(update, changedAt: changedAt, generation: generation)
            // A round trip stays with a live member; a dead or left one's is stale.
            if update.status == .alive || update.status == .suspect { slots[index].roundTripMilliseconds = roundTrip }
        } else {
            if let reused = freeSlots.popLast() {
                index = Int(reused)
                slots[index] = Slot(update, changedAt: changedAt, generation: slots[index].generation)
            } else {
                index = slots.count
                slots.append(Slot(update, changedAt: changedAt, generation: 0))
            }
            sortedKeys.insert(update.node.w0, at: position)
            sortedSlots.insert(UInt32(index), at: position)
        }
        switch update.status {
        case .alive: insertOrdered(\.liveSlots, index)
        case .suspect:
            insertOrdered(\.liveSlots, index)
            let (at, _) = suspectPosition(of: update.node)
            suspects.insert(SuspectEntry(node: update.node, suspectedBy: update.suspectedBy, suspicion: suspicion!), at: at)
        case .dead, .left: insertOrdered(\.goneSlots, index)
        }
        setName(update.name, of: update.node)
    }

    /// Forgets `node` (an expired tombstone); its slot is reused later.
    mutating func remove(_ node: NodeID) {
        let (position, found) = position(of: node)
        guard found else { return }
        let index = Int(sortedSlots[position])
        removeFromStatusList(index)
        sortedKeys.remove(at: position)
        sortedSlots.remove(at: position)
        slots[index].generation &+= 1
        freeSlots.append(UInt32(index))
        setName(nil, of: node)
    }

    private mutating func removeFromStatusList(_ index: Int) {
        let node = slots[index].node
        switch slots[index].status {
        case .alive: removeOrdered(\.liveSlots, node)
        case .suspect:
            removeOrdered(\.liveSlots, node)
            let (at, found) = suspectPosition(of: node)
            if found { suspects.remove(at: at) }
        case .dead, .left: removeOrdered(\.goneSlots, node)
        }
    }

    // MARK: - Status lists

    /// The number of alive and suspect members.
    var liveCount: Int { liveSlots.count }

    /// The `i`-th alive or suspect member in node order.
    func liveNode(at i: Int) -> NodeID { slots[Int(liveSlots[i])].node }

    /// Whether `node` is alive or suspect.
    func isLive(_ node: NodeID) -> Bool { orderedPosition(liveSlots, node).found }

    /// Alive and suspect members in node order.
    var liveNodes: [NodeID] { liveSlots.map { slots[Int($0)].node } }

    /// References to the alive and suspect members, in node order.
    var liveRefs: [SlotRef] { liveSlots.map { SlotRef(index: $0, generation: slots[Int($0)].generation) } }

    /// The member `ref` points to, unless its slot was freed since.
    func node(at ref: SlotRef) -> NodeID? {
        let slot = slots[Int(ref.index)]
        return slot.generation == ref.generation ? slot.node : nil
    }

    /// Dead and left members in node order.
    var goneNodes: [NodeID] { goneSlots.map { slots[Int($0)].node } }

    /// Whether any tombstone is held.
    var hasGone: Bool { !goneSlots.isEmpty }

    private func orderedPosition(_ list: [UInt32], _ node: NodeID) -> (index: Int, found: Bool) {
        let low = Bisection.partitionPoint(count: list.count) { slots[Int(list[$0])].node < node }
        return (low, low < list.count && slots[Int(list[low])].node == node)
    }

    private mutating func insertOrdered(_ list: WritableKeyPath<MemberTable, [UInt32]>, _ index: Int) {
        let (at, found) = orderedPosition(self[keyPath: list], slots[index].node)
        if !found { self[keyPath: list].insert(UInt32(index), at: at) }
    }

    private mutating func removeOrdered(_ list: WritableKeyPath<MemberTable, [UInt32]>, _ node: NodeID) {
        let (at, found) = orderedPosition(self[keyPath: list], node)
        if found { self[keyPath: list].remove(at: at) }
    }
}

extension MemberTable.Slot {
    init(_ update: MemberUpdate, changedAt: MeshInstant, generation: UInt32) {
        self.init(
            node: update.node, incarnation: update.incarnation, changedAt: changedAt, address: update.address,
            role: update.role, status: update.status, generation: generation, region: update.region)
    }
}
