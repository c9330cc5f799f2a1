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
        guard let current = members.update(of: update.node) else {
            guard members.count < config.maxMembers else { return }
            set(update, now: now, source: suspecter)
            enqueue(update)
            noteRecent(update.node, now: now, news: update.status != .suspect)
            out.append(.memberChanged(update, previous: nil))
            return
        }
        // Names stick: a fact without one (from a peer that predates names) keeps the name held.
        if update.name == nil { update.name = current.name }
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
        set(update, now: now, source: suspecter)
        // Nothing but a newer incarnation of a member this node already held alive: a refutation
        // of a suspicion that never reached this node, or a restarted member it never saw die.
        let refresh =
            update.status == .alive && current.status == .alive && update.address == current.address
            && update.role == current.role && update.region == current.region
        if update.status == .suspect, current.status == .alive, suspecter != me.node, config.suspectProbeBoost > 0,
            freshSuspects.count < Membership.maxFreshSuspects, !freshSuspects.contains(update.node)
        {
            freshSuspects.append(update.node)
        }
        enqueue(update, refresh: refresh)
        // News, not churn: anything but a suspicion, its refutation, or a refresh.
        let moved = update.address != current.address || update.role != current.role || update.region != current.region
        let news =
            update.status == .dead || update.status == .left
            || (update.status == .alive && (moved || current.status == .dead || current.status == .left))
        noteRecent(update.node, now: now, news: news)
        out.append(.memberChanged(update, previous: current.status))
        if current.status == .dead, update.status == .alive {
            rejoinDelayMilliseconds = config.rejoinBaseMilliseconds
        }
        if update.status == .dead || update.status == .left { out.append(.disconnect(update.node)) }
    }

    /// A peer's ack or probe proves it is alive at `incarnation`: accept that like an alive fact.
    mutating func impliedAlive(_ node: NodeID, incarnation: UInt64, now: MeshInstant, into out: inout [MembershipDirective]) {
        guard var update = members.update(of: node)?.withoutSuspecter, incarnation > update.incarnation else { return }
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

    /// Makes `update` the current fact about its member (new or known), accepted now; a suspect
    /// fact opens a suspicion raised by `source`, a dead or left one (a tombstone until
    /// ``MembershipConfig/tombstoneMilliseconds`` after now) ends a probe of the member.
    mutating func set(_ update: MemberUpdate, now: MeshInstant, source: NodeID) {
        var suspicion: Suspicion?
        if update.status == .suspect {
            // The member counts as live when its suspicion starts, whatever it was before.
            let live = liveCount + (members.isLive(update.node) ? 0 : 1)
            suspicion = Membership.suspicion(
                config: config, liveCount: live, localHealth: localHealth, now: now, originator: source)
        }
        members.set(update, changedAt: now, suspicion: suspicion)
        if update.status == .dead || update.status == .left, pending?.target == update.node { pending = nil }
    }

    // MARK: - Suspicion timeouts

    /// Lifeguard's bounds: floor `α · max(1, log10 n) · interval · (localHealth + 1)`, ceiling
    /// `β ·` floor, for `n = liveCount` (this node included). Plain SWIM waits the floor, fixed (no
    /// health term).
    static func suspicion(
        config: MembershipConfig, liveCount: Int, localHealth: Int, now: MeshInstant, originator: NodeID
    ) -> Suspicion {
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
        guard config.lifeguard, var s = members.suspicion(of: node) else { return false }
        guard source != s.originator, source != node, !s.confirmers.contains(source),
            s.confirmers.count < config.suspicionConfirmations
        else { return false }
        s.confirmers.append(source)
        let timeout = Membership.suspicionTimeout(
            minMilliseconds: s.minMilliseconds, maxMilliseconds: s.maxMilliseconds, confirmations: s.confirmers.count,
            expected: config.suspicionConfirmations)
        s.deadline = s.startedAt + .milliseconds(timeout)
        members.setSuspicion(s, of: node)
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
