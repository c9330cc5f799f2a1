import MeshCore

// MARK: - Applying membership facts

extension Membership {
    /// Applies piggybacked facts in order; `source` is the member whose message carried them. A
    /// suspicion's suspecter is its ``MemberUpdate/suspectedBy`` (only distinct suspecters confirm
    /// it); `source` stands in only for suspicions from peers that predate that field.
    mutating func apply(_ updates: [MemberUpdate], source: NodeID, now: MeshInstant, into out: inout [MembershipDirective]) {
        for update in updates { apply(update, source: source, now: now, into: &out) }
    }

    mutating func apply(_ update: MemberUpdate, source: NodeID, now: MeshInstant, into out: inout [MembershipDirective]) {
        var update = update
        if update.status != .suspect { update.suspectedBy = nil }
        let suspecter = update.suspectedBy ?? source
        if update.node == me.node {
            refuteIfNeeded(update, into: &out)
            return
        }
        guard let state = members[update.node] else {
            guard members.count < config.maxMembers else { return }
            insert(update, now: now, source: suspecter)
            enqueue(update)
            noteRecent(update.node, now: now)
            out.append(.memberChanged(update, previous: nil))
            return
        }
        let current = state.update
        let accept: Bool
        switch update.status {
        case .alive:
            accept = update.incarnation > current.incarnation
        case .suspect:
            switch current.status {
            case .alive: accept = update.incarnation >= current.incarnation
            case .suspect, .dead, .left: accept = update.incarnation > current.incarnation
            }
            if !accept, current.status == .suspect, update.incarnation == current.incarnation,
                confirm(update.node, by: suspecter)
            {
                // memberlist: a new independent confirmation is gossiped on (with its suspecter),
                // so that the other members' timeouts shrink too; at most `K` per suspicion here.
                enqueue(update)
            }
        case .dead:
            switch current.status {
            case .alive, .suspect: accept = update.incarnation >= current.incarnation
            case .dead, .left: accept = update.incarnation > current.incarnation
            }
        case .left:
            switch current.status {
            case .alive, .suspect, .dead: accept = update.incarnation >= current.incarnation
            case .left: accept = update.incarnation > current.incarnation
            }
        }
        guard accept else {
            noteStale(update, current: current)
            // A stale "alive" about a tombstone: say again that it is dead, so the news reaches the
            // member (which then refutes) and the peers that still believe otherwise.
            if update.status == .alive, current.status == .dead, !isPending(current.node) {
                enqueue(current)
            }
            return
        }
        replace(update, previous: current, now: now, source: suspecter)
        if update.status == .suspect, current.status == .alive, suspecter != me.node, config.suspectProbeBoost > 0,
            freshSuspects.count < Membership.maxFreshSuspects, !freshSuspects.contains(update.node)
        {
            freshSuspects.append(update.node)
        }
        enqueue(update)
        noteRecent(update.node, now: now)
        out.append(.memberChanged(update, previous: current.status))
        if current.status == .dead, update.status == .alive {
            rejoinDelayMilliseconds = config.rejoinBaseMilliseconds
        }
        if update.status == .dead || update.status == .left { out.append(.disconnect(update.node)) }
    }

    /// A peer's ack or probe proves it is alive at `incarnation`: accept that like an alive fact.
    mutating func impliedAlive(_ node: NodeID, incarnation: UInt64, now: MeshInstant, into out: inout [MembershipDirective]) {
        guard var update = members[node]?.update.withoutSuspecter, incarnation > update.incarnation else { return }
        update.incarnation = incarnation
        update.status = .alive
        apply(update, source: node, now: now, into: &out)
    }

    /// Someone says this node is suspect, dead or left: refute with a higher incarnation.
    mutating func refuteIfNeeded(_ update: MemberUpdate, into out: inout [MembershipDirective]) {
        guard me.status == .alive, update.status != .alive, update.incarnation >= me.incarnation else { return }
        me.incarnation = update.incarnation + 1
        out.append(.persistIncarnation(me.incarnation))
        enqueue(me)
        // Lifeguard: being suspected is a sign this node is slow to answer.
        adjustHealth(1)
    }

    mutating func insert(_ update: MemberUpdate, now: MeshInstant, source: NodeID? = nil) {
        members[update.node] = MemberState(update: update, changedAt: now, suspicion: nil, tombstoneUntil: nil)
        place(update.node, status: update.status, now: now, source: source ?? me.node)
    }

    mutating func replace(_ update: MemberUpdate, previous: MemberUpdate, now: MeshInstant, source: NodeID) {
        switch previous.status {
        case .alive: removeSorted(&liveIDs, update.node)
        case .suspect:
            removeSorted(&liveIDs, update.node)
            removeSorted(&suspectIDs, update.node)
        case .dead, .left: removeSorted(&goneIDs, update.node)
        }
        members[update.node]?.update = update
        members[update.node]?.changedAt = now
        members[update.node]?.suspicion = nil
        members[update.node]?.tombstoneUntil = nil
        place(update.node, status: update.status, now: now, source: source)
    }

    mutating func place(_ node: NodeID, status: MemberStatus, now: MeshInstant, source: NodeID) {
        switch status {
        case .alive:
            insertSorted(&liveIDs, node)
        case .suspect:
            insertSorted(&liveIDs, node)
            insertSorted(&suspectIDs, node)
            let suspicion = startSuspicion(now: now, originator: source)
            members[node]?.suspicion = suspicion
        case .dead, .left:
            insertSorted(&goneIDs, node)
            members[node]?.tombstoneUntil = now + .milliseconds(config.tombstoneMilliseconds)
            if pending?.target == node { pending = nil }
        }
    }

    // MARK: - Suspicion timeouts

    /// Lifeguard's bounds: floor `α · max(1, log10 n) · interval · (localHealth + 1)`, ceiling
    /// `β ·` floor. Plain SWIM waits the floor, fixed (no health term).
    func startSuspicion(now: MeshInstant, originator: NodeID) -> Suspicion {
        let n = Double(Swift.max(liveCount, 1))
        let scale = Swift.max(1.0, Membership.log10(n))
        // Lifeguard: a node that is itself unhealthy (slow to hear acks and refutations) waits longer.
        let health = config.lifeguard && config.healthScaledSuspicion ? Double(localHealth + 1) : 1
        let minMs = UInt64((config.suspicionMinMultiplier * scale * health * Double(config.probeIntervalMilliseconds)).rounded())
        let maxMs = config.lifeguard ? minMs * config.suspicionMaxMultiplier : minMs
        return Suspicion(
            startedAt: now, originator: originator, confirmers: [], minMilliseconds: minMs, maxMilliseconds: maxMs,
            deadline: now + .milliseconds(maxMs))
    }

    /// Lifeguard: `timeout = max(min, max − (max − min) · log(C + 1) / log(K + 1))`.
    static func suspicionTimeout(minMilliseconds: UInt64, maxMilliseconds: UInt64, confirmations: Int, expected: Int) -> UInt64 {
        guard maxMilliseconds > minMilliseconds else { return minMilliseconds }
        let fraction = naturalLog(Double(confirmations + 1)) / naturalLog(Double(expected + 1))
        let span = Double(maxMilliseconds - minMilliseconds)
        let value = Double(maxMilliseconds) - span * fraction
        return Swift.max(minMilliseconds, UInt64(Swift.max(value, 0).rounded()))
    }

    /// Counts `source` as an independent confirmation of the open suspicion of `node` and shortens
    /// its deadline; returns whether it was new (not the originator, not the node itself, not seen
    /// before, and fewer than ``MembershipConfig/suspicionConfirmations`` so far).
    @discardableResult
    mutating func confirm(_ node: NodeID, by source: NodeID) -> Bool {
        guard config.lifeguard, var s = members[node]?.suspicion else { return false }
        guard source != s.originator, source != node, !s.confirmers.contains(source),
            s.confirmers.count < config.suspicionConfirmations
        else { return false }
        s.confirmers.append(source)
        let timeout = Membership.suspicionTimeout(
            minMilliseconds: s.minMilliseconds, maxMilliseconds: s.maxMilliseconds, confirmations: s.confirmers.count,
            expected: config.suspicionConfirmations)
        s.deadline = s.startedAt + .milliseconds(timeout)
        members[node]?.suspicion = s
        return true
    }

    /// A peer sent a suspicion or death that a newer fact here supersedes (the member refuted, and
    /// the refutation missed that peer): with ``MembershipConfig/correctsStaleFacts`` the newer fact
    /// goes back in this node's answer (see ``Membership/onProbe(from:fromIncarnation:target:updates:now:rng:)``).
    mutating func noteStale(_ update: MemberUpdate, current: MemberUpdate) {
        guard config.correctsStaleFacts, update.status == .suspect || update.status == .dead,
            current.status == .alive || current.status == .suspect, current.incarnation > update.incarnation,
            corrections.count < config.maxPiggybackedUpdates, !corrections.contains(where: { $0.node == current.node })
        else { return }
        corrections.append(current)
    }

    // MARK: - Small helpers (no Foundation in a pure core)

    /// ln(x) for x > 0: exponent · ln 2 plus an atanh series on the significand in [1, 2).
    static func naturalLog(_ x: Double) -> Double {
        precondition(x > 0, "naturalLog of \(x)")
        let exponent = Double(x.exponent)
        let m = x.significand
        let y = (m - 1) / (m + 1)
        let y2 = y * y
        var term = y
        var sum = 0.0
        var k = 1.0
        for _ in 0..<30 {
            sum += term / k
            term *= y2
            k += 2
        }
        return exponent * 0.693_147_180_559_945_3 + 2 * sum
    }

    static func log10(_ x: Double) -> Double { naturalLog(x) / 2.302_585_092_994_046 }
}

/// Binary search in a sorted array: the index where `value` is or would be inserted.
func binarySearch(_ array: [NodeID], _ value: NodeID) -> (index: Int, found: Bool) {
    var low = 0
    var high = array.count
    while low < high {
        let mid = (low + high) / 2
        if array[mid] < value { low = mid + 1 } else { high = mid }
    }
    return (low, low < array.count && array[low] == value)
}

func insertSorted(_ array: inout [NodeID], _ value: NodeID) {
    let (index, found) = binarySearch(array, value)
    if !found { array.insert(value, at: index) }
}

func removeSorted(_ array: inout [NodeID], _ value: NodeID) {
    let (index, found) = binarySearch(array, value)
    if found { array.remove(at: index) }
}
