public import MeshCore

/// The version of the figures a view entry shows: the inventory record's (epoch, sequence) and
/// its issue instant (moved forward when a refusal's fresh figures heal the entry).
public struct ViewVersion: Hashable, Sendable {
    public var epoch: UInt64
    public var sequence: UInt64
    public var issuedAt: MeshInstant

    public init(epoch: UInt64, sequence: UInt64, issuedAt: MeshInstant) {
        self.epoch = epoch
        self.sequence = sequence
        self.issuedAt = issuedAt
    }
}

/// One pool as a node sees it: its description, its last known availability, the record version
/// that availability came from, and how long that record may be used.
public struct ViewEntry: Hashable, Sendable {
    public var descriptor: PoolDescriptor
    public var availability: PoolAvailability
    /// The inventory record version (epoch, sequence) the availability came from.
    public var epoch: UInt64
    public var sequence: UInt64
    /// When the owner issued the record: the age of a decision's input is `now - issuedAt`.
    public var issuedAt: MeshInstant
    /// After this instant the entry MUST NOT be used for decisions.
    public var validUntil: MeshInstant
    /// The measured round-trip latency to the pool's owner, used by the latency filter and score.
    public var latency: MeshDuration
    /// False once the pool was withdrawn (its slot stays so index positions never move).
    public var isLive: Bool

    public init(
        descriptor: PoolDescriptor, availability: PoolAvailability, epoch: UInt64, sequence: UInt64, issuedAt: MeshInstant,
        validUntil: MeshInstant, latency: MeshDuration, isLive: Bool = true
    ) {
        self.descriptor = descriptor
        self.availability = availability
        self.epoch = epoch
        self.sequence = sequence
        self.issuedAt = issuedAt
        self.validUntil = validUntil
        self.latency = latency
        self.isLive = isLive
    }
}

/// A node's freshness-bounded view of the pools it may place on, with indexes so that a decision
/// looks only at the pools that could match (by accelerator class and by residency region) rather
/// than scanning every pool.
///
/// Entries live in one array; each index is a sorted array of positions in it, so iteration order
/// is deterministic. A withdrawn pool keeps its slot (marked not live) so positions never move.
public struct PoolView: Sendable {
    public private(set) var entries: [ViewEntry] = []
    private var positionByID: [ComputeID: Int] = [:]
    private var byKind: [UInt8: [Int]] = [:]
    private var byKindVendor: [String: [Int]] = [:]
    private var byClass: [String: [Int]] = [:]
    private var byRegion: [Region: [Int]] = [:]
    private var all: [Int] = []
    /// The most pools the view holds.
    public let capacity: Int

    public init(capacity: Int = 1_000_000) { self.capacity = capacity }

    /// The number of live pools.
    public private(set) var liveCount = 0

    /// The entry of a pool, if in view.
    public func entry(for id: ComputeID) -> ViewEntry? {
        guard let position = positionByID[id] else { return nil }
        return entries[position]
    }

    /// Adds or replaces a pool. A replacement with an older version (epoch, sequence) is ignored.
    /// Returns false when the view is full.
    @discardableResult
    public mutating func upsert(_ entry: ViewEntry) -> Bool {
        if let position = positionByID[entry.descriptor.id] {
            let old = entries[position]
            if (entry.epoch, entry.sequence) < (old.epoch, old.sequence) { return true }
            if old.descriptor.accelerators != entry.descriptor.accelerators
                || old.descriptor.residency != entry.descriptor.residency
            {
                // Re-indexing a changed description: rare (descriptors change seldom).
                removeFromIndexes(position, old.descriptor)
                addToIndexes(position, entry.descriptor)
            }
            if !old.isLive && entry.isLive { liveCount += 1 }
            if old.isLive && !entry.isLive { liveCount -= 1 }
            entries[position] = entry
            return true
        }
        if entries.count >= capacity { return false }
        let position = entries.count
        entries.append(entry)
        positionByID[entry.descriptor.id] = position
        addToIndexes(position, entry.descriptor)
        if entry.isLive { liveCount += 1 }
        return true
    }

    /// Updates a pool's availability from a newer record; older records are ignored.
    public mutating func updateAvailability(
        _ availability: PoolAvailability, epoch: UInt64, sequence: UInt64, issuedAt: MeshInstant, validUntil: MeshInstant
    ) {
        guard let position = positionByID[availability.id] else { return }
        if (epoch, sequence) < (entries[position].epoch, entries[position].sequence) { return }
        // A record issued before the owner last told this node its capacity first hand (a
        // refusal's fresh availability, see ``heal(_:now:)``) is older news: keep the fresher
        // figures. Its version is not adopted either, so the owner's next record still applies.
        if issuedAt < entries[position].issuedAt && epoch == entries[position].epoch { return }
        entries[position].availability = availability
        entries[position].epoch = epoch
        entries[position].sequence = sequence
        entries[position].issuedAt = issuedAt
        entries[position].validUntil = validUntil
    }

    /// Applies what an owner said first hand (a refusal's fresh availability), keeping the version
    /// but treating the information as issued `now`.
    public mutating func heal(_ availability: PoolAvailability, now: MeshInstant) {
        guard let position = positionByID[availability.id] else { return }
        entries[position].availability = availability
        entries[position].issuedAt = max(entries[position].issuedAt, now)
    }

    /// Subtracts capacity the node knows was just taken (a quote it received), so that its next
    /// decisions do not chase capacity that is gone until the next inventory record arrives.
    public mutating func debit(pool: ComputeID, computeUnits: UInt64, memoryMiB: UInt64, acceleratorCount: UInt32, group: Int?) {
        guard let position = positionByID[pool] else { return }
        var availability = entries[position].availability
        availability.freeComputeUnits -= min(availability.freeComputeUnits, computeUnits)
        availability.freeMemoryMiB -= min(availability.freeMemoryMiB, memoryMiB)
        if let group, group < availability.freeAccelerators.count {
            availability.freeAccelerators[group] -= min(availability.freeAccelerators[group], acceleratorCount)
        }
        entries[position].availability = availability
    }

    /// Whether a pool, as the view now shows it, is live, fresh at `now`, and has room for
    /// `demand` (in accelerator group `group`, when the demand names accelerators).
    ///
    /// A requester checks this before each quote round, so a candidate that refusals or quotes
    /// received since the decision showed to be full is skipped rather than asked again.
    public func hasRoom(pool: ComputeID, for demand: Demand, group: Int?, now: MeshInstant) -> Bool {
        guard let position = positionByID[pool] else { return false }
        let entry = entries[position]
        if !entry.isLive || now > entry.validUntil { return false }
        let free = entry.availability
        if free.freeComputeUnits < demand.computeUnits || free.freeMemoryMiB < demand.memoryMiB { return false }
        if demand.acceleratorCount > 0 {
            guard let group, group < free.freeAccelerators.count else { return false }
            if free.freeAccelerators[group] < demand.acceleratorCount { return false }
        }
        return true
    }

    /// The version (epoch, sequence, issue instant) of a pool's entry, to tell later whether the
    /// figures a debit was made against are still the ones in view.
    public func version(of pool: ComputeID) -> ViewVersion? {
        guard let position = positionByID[pool] else { return nil }
        let entry = entries[position]
        return ViewVersion(epoch: entry.epoch, sequence: entry.sequence, issuedAt: entry.issuedAt)
    }

    /// Gives back capacity a ``debit(pool:computeUnits:memoryMiB:acceleratorCount:group:)`` took
    /// (a quote the node released, so the owner has the capacity again), but only while the
    /// entry still shows the figures the debit was made against (`version`): a newer record or a
    /// refusal's fresh figures already say what is free. Never above the pool's capacity.
    public mutating func credit(
        pool: ComputeID, computeUnits: UInt64, memoryMiB: UInt64, acceleratorCount: UInt32, group: Int?,
        ifStill version: ViewVersion
    ) {
        guard let position = positionByID[pool] else { return }
        let entry = entries[position]
        guard ViewVersion(epoch: entry.epoch, sequence: entry.sequence, issuedAt: entry.issuedAt) == version else { return }
        var availability = entry.availability
        let d = entry.descriptor
        availability.freeComputeUnits = min(d.computeUnits, availability.freeComputeUnits + computeUnits)
        availability.freeMemoryMiB = min(d.memoryMiB, availability.freeMemoryMiB + memoryMiB)
        if let group, group < availability.freeAccelerators.count, group < d.accelerators.count {
            availability.freeAccelerators[group] = min(
                d.accelerators[group].count, availability.freeAccelerators[group] + acceleratorCount)
        }
        entries[position].availability = availability
    }

    /// Whether the view's figures for a pool are fresh (issued or healed within `freshWithin` of
    /// `now`) or show spare room beyond `demand` of at least `sparePermille` per mille of it (in
    /// compute units, memory and, in `group`, accelerators). Assumes ``hasRoom(pool:for:group:now:)``.
    public func isConfident(
        pool: ComputeID, for demand: Demand, group: Int?, now: MeshInstant, freshWithin: MeshDuration, sparePermille: UInt64
    ) -> Bool {
        guard let position = positionByID[pool] else { return false }
        let entry = entries[position]
        if now.since(entry.issuedAt) <= freshWithin { return true }
        func spare(_ free: UInt64, _ need: UInt64) -> Bool {
            need == 0 || free.subtractingReportingOverflow(need).partialValue >= need * sparePermille / 1000 && free >= need
        }
        let free = entry.availability
        if !spare(free.freeComputeUnits, demand.computeUnits) || !spare(free.freeMemoryMiB, demand.memoryMiB) { return false }
        if demand.acceleratorCount > 0 {
            guard let group, group < free.freeAccelerators.count else { return false }
            if !spare(UInt64(free.freeAccelerators[group]), UInt64(demand.acceleratorCount)) { return false }
        }
        return true
    }

    /// Marks a pool withdrawn.
    public mutating func withdraw(_ id: ComputeID) {
        guard let position = positionByID[id], entries[position].isLive else { return }
        entries[position].isLive = false
        liveCount -= 1
    }

    /// The positions of the pools a demand could possibly match, from the narrowest index that
    /// applies, in ascending order. Pools outside the returned set cannot match: they lack the
    /// accelerator class, or lie outside every residency region asked for.
    public func candidatePositions(for request: PlacementRequest) -> [Int] {
        var best: [Int] = all
        if let accelerator = request.demand.accelerator {
            let list: [Int]
            switch (accelerator.vendor, accelerator.model) {
            case (let vendor?, let model?):
                list = byClass[PoolView.classKey(accelerator.kind.code, vendor, model)] ?? []
            case (let vendor?, nil):
                list = byKindVendor[PoolView.vendorKey(accelerator.kind.code, vendor)] ?? []
            case (nil, _):
                list = byKind[accelerator.kind.code] ?? []
            }
            if list.count < best.count { best = list }
        }
        let regions = request.constraints.residency
        if !regions.isEmpty {
            var count = 0
            for region in regions { count += byRegion[region]?.count ?? 0 }
            if count < best.count {
                if regions.count == 1 {
                    best = byRegion[regions[0]] ?? []
                } else {
                    var merged: [Int] = []
                    merged.reserveCapacity(count)
                    for region in regions.sorted() { merged.append(contentsOf: byRegion[region] ?? []) }
                    merged.sort()
                    best = merged
                }
            }
        }
        return best
    }

    // MARK: - Index upkeep

    static func classKey(_ kind: UInt8, _ vendor: String, _ model: String) -> String { "\(kind)|\(vendor)|\(model)" }
    static func vendorKey(_ kind: UInt8, _ vendor: String) -> String { "\(kind)|\(vendor)" }

    private mutating func addToIndexes(_ position: Int, _ descriptor: PoolDescriptor) {
        PoolView.insertSorted(position, into: &all)
        PoolView.insertSorted(position, into: &byRegion[descriptor.residency, default: []])
        for group in descriptor.accelerators {
            PoolView.insertSorted(position, into: &byKind[group.kind.code, default: []])
            PoolView.insertSorted(position, into: &byKindVendor[PoolView.vendorKey(group.kind.code, group.vendor), default: []])
            PoolView.insertSorted(
                position, into: &byClass[PoolView.classKey(group.kind.code, group.vendor, group.model), default: []])
        }
    }

    private mutating func removeFromIndexes(_ position: Int, _ descriptor: PoolDescriptor) {
        PoolView.removeSorted(position, from: &byRegion[descriptor.residency, default: []])
        for group in descriptor.accelerators {
            PoolView.removeSorted(position, from: &byKind[group.kind.code, default: []])
            PoolView.removeSorted(position, from: &byKindVendor[PoolView.vendorKey(group.kind.code, group.vendor), default: []])
            PoolView.removeSorted(
                position, from: &byClass[PoolView.classKey(group.kind.code, group.vendor, group.model), default: []])
        }
    }

    private static func insertSorted(_ value: Int, into list: inout [Int]) {
        if let last = list.last, last >= value {
            var low = 0
            var high = list.count
            while low < high {
                let mid = (low + high) / 2
                if list[mid] < value { low = mid + 1 } else { high = mid }
            }
            if low < list.count && list[low] == value { return }
            list.insert(value, at: low)
        } else {
            list.append(value)
        }
    }

    private static func removeSorted(_ value: Int, from list: inout [Int]) {
        if let index = list.firstIndex(of: value) { list.remove(at: index) }
    }
}
