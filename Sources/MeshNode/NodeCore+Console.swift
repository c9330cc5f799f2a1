public import MeshCore
public import MeshPlacement
public import MeshWire

// The debug console (DESIGN.md §1, operational monitoring): requests from a session whose
// certificate has the operator role. Every request with a correlation ID gets exactly one answer
// with that ID: its response, or ERROR naming what was wrong.
extension NodeCore {
    mutating func onConsole(
        _ message: WireMessage, correlationID: UInt64, session: SessionID, now: MeshInstant, rng: inout SeededRandom
    ) {
        counters.consoleRequests += 1
        func answer(_ response: WireMessage) { out.append(.answer(response, correlationID: correlationID, session: session)) }
        // Every answer fits the frame limit the session negotiated (SPEC §3.2, §8.2): paged
        // answers carry fewer rows (and set `more`), WHY fewer verdicts.
        let maxFrameBytes = sessionTerms[session]?.maxFrameBytes ?? WireLimits.defaultMaxFrameBytes
        switch message {
        case .statusRequest:
            answer(.status(status(now: now)))
        case .membersRequest(let r):
            let limit = min(Int(r.limit), config.maxConsoleRows)
            let all = ([gossip.me] + gossip.membership.allMembers).sorted { $0.node < $1.node }
            let after = all.filter { r.after == nil || $0.node > r.after! }
            let rows = after.prefix(limit).map { update in
                MemberRow(
                    update: update,
                    sinceChange: update.node == node ? now.since(startedAt) : now.since(memberChangedAt[update.node] ?? startedAt)
                )
            }
            answer(
                Self.fitted(rows.count, maxFrameBytes: maxFrameBytes) { n in
                    let page = Array(rows.prefix(n))
                    // The rows are in NodeID order, so their round trips are too (issue 17).
                    let roundTrips = page.compactMap { row in
                        gossip.membership.roundTrip(of: row.update.node).map {
                            MemberRoundTrip(node: row.update.node, roundTrip: $0)
                        }
                    }
                    return .members(Members(members: page, more: after.count > n, roundTrips: roundTrips))
                })
        case .inventoryRequest(let r):
            answer(
                .inventory(
                    inventoryPage(
                        region: r.region, after: r.after, limit: min(Int(r.limit), config.maxConsoleRows), now: now,
                        maxFrameBytes: maxFrameBytes)))
        case .placementsRequest(let r):
            let limit = min(Int(r.limit), config.maxConsoleRows)
            // Leases in force now: one past its expiry is not listed, even before the ledger's
            // sweep has removed it (SPEC §6.7.7).
            let leases = owner.activeLeases.filter { (r.tenant == nil || $0.tenant == r.tenant!) && $0.expiresAt > now }
            let page = Array(leases.prefix(limit))
            answer(
                Self.fitted(page.count, maxFrameBytes: maxFrameBytes) { n in
                    let rows = Array(page.prefix(n))
                    return .placements(
                        Placements(leases: rows, more: leases.count > n, names: nameDirectory(rows.map(\.pool.owner))))
                })
        case .whyRequest(let r):
            guard let explanation = requester.explanations.why(r.requestID) else {
                return refuseConsole(
                    .notFound, whereToAskWhy(r.requestID), correlationID: correlationID, session: session,
                    type: message.type)
            }
            // Verdicts are cut to fit the frame limit (an Explanation may keep fewer verdicts
            // than it considered, §5.4.19); the focus verdict, if asked for, always stays.
            func why(_ focus: CandidateVerdict?) -> WireMessage {
                Self.fitted(explanation.verdicts.count, maxFrameBytes: maxFrameBytes) { n in
                    var cut = explanation
                    cut.verdicts = Array(explanation.verdicts.prefix(n))
                    return .why(Why(explanation: cut, focus: focus, names: nameDirectory(mentionedBy: cut)))
                }
            }
            if let pool = r.pool {
                guard let verdict = requester.explanations.whyNot(r.requestID, pool: pool) else {
                    let cut = explanation.verdicts.count < Int(explanation.consideredCount)
                    return refuseConsole(
                        .notFound,
                        "request \(r.requestID) has no verdict on pool \(pool): "
                            + (cut
                                ? "either it was not a candidate or its verdict was cut (the explanation keeps \(explanation.verdicts.count) of \(explanation.consideredCount) verdicts)"
                                : "it was not among the \(explanation.consideredCount) candidates considered"),
                        correlationID: correlationID, session: session, type: message.type)
                }
                answer(why(verdict))
            } else {
                answer(why(nil))
            }
        case .registerPool(let r):
            let d = r.descriptor
            guard d.id.owner == node else {
                return refuseConsole(
                    .notOwner,
                    "the pool's ComputeID names owner \(d.id.owner.short), not this node (\(node.short)): ask STATUS for the node ID",
                    correlationID: correlationID, session: session, type: message.type)
            }
            do throws(RegistrationError) {
                let pool = try register(PoolSpec(d), now: now)
                log(.info, "pool \(pool.descriptor.id) registered by a console")
                publishEvent(.inventory, .info, subject: pool.descriptor.id.description, detail: "registered", now: now)
                // Acknowledged once the registration is durable.
                afterCommit(
                    .answer(
                        .poolRegistered(PoolRegistered(id: pool.descriptor.id, epoch: pool.epoch, sequence: pool.sequence)),
                        correlationID: correlationID, session: session))
            } catch {
                refuseConsole(
                    .refusedValue, error.description, correlationID: correlationID, session: session, type: message.type)
            }
        case .place(let request):
            do { try request.validate() } catch {
                return refuseConsole(
                    .refusedValue, "\(error)", correlationID: correlationID, session: session, type: message.type)
            }
            if stopping {
                return answer(.outcome(refusal(of: request, .overloaded, "node \(node.short) is stopping; place elsewhere")))
            }
            if let warming = warmingUp { return answer(.outcome(refusal(of: request, .overloaded, warming))) }
            guard tickets.count < config.maxConsoleWaits else {
                return refuseConsole(
                    .overloaded, "\(config.maxConsoleWaits) console requests are in progress; retry later",
                    correlationID: correlationID, session: session, type: message.type)
            }
            let ticket = nextTicket
            nextTicket += 1
            tickets[ticket] = Ticket(
                session: session, correlationID: correlationID, requestID: request.requestID,
                idempotencyKey: request.idempotencyKey,
                answerBy: request.deadline + .milliseconds(config.consoleGraceMilliseconds), receivedAt: now)
            ensureView(now: now)
            updateHomeCandidates()
            perform(requester.onPlace(request, ticket: ticket, now: now, rng: &rng), now: now)
        case .renew(let r):
            leaseRequest(.renew(r), lease: r.leaseID, route: r.route, correlationID: correlationID, session: session, now: now)
        case .release(let r):
            guard case .lease(let leaseID) = r.reservation else {
                return refuseConsole(
                    .refusedValue, "a console releases leases, not holds", correlationID: correlationID, session: session,
                    type: message.type)
            }
            leaseRequest(.release(r), lease: leaseID, route: r.route, correlationID: correlationID, session: session, now: now)
        case .subscribe(let s):
            // The event stream is a feature (SPEC §8.2): without it in force, SUBSCRIBE is refused
            // (a request refusal: answered, not counted against the error budget).
            guard sessionTerms[session]?.features.contains(.eventStream) ?? true else {
                return refuseConsole(
                    .featureNotNegotiated, "the event-stream feature is not in force on this connection",
                    correlationID: correlationID, session: session, type: message.type)
            }
            for event in events.subscribe(session, kinds: s.kinds, fromSequence: s.fromSequence) {
                out.append(.push(.event(event), session: session))
            }
        case .unsubscribe:
            events.unsubscribe(session)
        case .ping(let p):
            answer(.pong(Pong(nonce: p.nonce, sentAt: p.sentAt)))
        case .hello, .welcome, .reject, .goAway, .error, .pong, .probe, .probeAck, .indirectProbe, .nack, .digest, .delta,
            .regionSummaries, .revocationList, .quoteRequest, .quote, .refuse, .confirm, .confirmed, .leaseStatus, .forward,
            .outcome, .status, .members, .inventory, .placements, .why, .event, .poolRegistered:
            if correlationID != 0 {
                refuseConsole(
                    .unexpectedMessage, "a console does not send \(message.type.name ?? "this")", correlationID: correlationID,
                    session: session, type: message.type)
            }
        }
    }

    /// A console's RENEW or RELEASE: answered by this node's ledger when it owns the lease, else
    /// sent along the lease's route (the console's, or the one this node learned when it reported
    /// the lease) with this node waiting for the owner's answer.
    mutating func leaseRequest(
        _ message: PlacementMessage, lease: LeaseID, route given: LeaseRoute, correlationID: UInt64, session: SessionID,
        now: MeshInstant
    ) {
        if owner.lease(lease) != nil || given.last == node {
            let directives: [OwnerDirective]
            switch message {
            case .renew(let r): directives = owner.onRenew(r.leaseID, extendBy: r.extendBy, from: node, now: now)
            case .release(let r): directives = owner.onRelease(r.reservation, from: node, now: now)
            default: preconditionFailure("\(message) is not a request about a lease")
            }
            perform(directives, now: now, answering: (session, correlationID))
            return
        }
        var route = given.isEmpty ? routes.route(for: lease, now: now) ?? [] : given
        if let owner = route.last, route.first != node || Set(route).count != route.count {
            route = LeaseRouting.route(from: node, through: Array(route.dropLast()), to: owner)
        }
        guard route.count > 1 else {
            return refuseConsole(
                .notFound,
                "lease \(lease) is not held here and was not placed through this node: send its route, or ask where it was placed",
                correlationID: correlationID, session: session, type: PlacementWire.wire(message).type)
        }
        var routed = message
        switch message {
        case .renew(var r):
            r.route = route
            routed = .renew(r)
        case .release(var r):
            r.route = route
            routed = .release(r)
        default: break
        }
        routes.wait(
            for: lease, session: session, correlationID: correlationID,
            until: now + .milliseconds(config.relayTimeoutMilliseconds))
        counters.relayed += 1
        send(PlacementWire.wire(routed), to: route[1])
    }

    /// WHY's answer when this node has no explanation of a request: the node that holds it, by
    /// NodeID and address, when this node can tell (it is still deciding the request, forwarded it
    /// and waits, holds capacity for it, or was asked to quote for it: the asker decided it);
    /// otherwise what this node is and where explanations are kept. The explanation lives on the
    /// node that decided the request and on every node on its path back to the entry node; an
    /// owner of the chosen pool that was not on the path does not have it.
    func whereToAskWhy(_ id: RequestID) -> String {
        let here = "this node (\(node.short))"
        func ask(_ peer: NodeID) -> String {
            guard let address = address(of: peer) else { return "node \(peer.hex) (its address is not known here)" }
            return "node \(peer.hex) at \(address) (meshctl console --node \(address) why \(id))"
        }
        switch requester.progress(of: id) {
        case .deciding?:
            return "request \(id) is still being decided by \(here): ask again once its outcome is out"
        case .forwarded(let peer)?:
            return
                "request \(id) is not decided yet: \(here) forwarded it and waits for the outcome; ask \(ask(peer)), which decides it or passes it on"
        case nil:
            break
        }
        if let (requester, pool) = owner.requester(of: id), requester != node {
            return
                "\(here) did not decide request \(id): it only owns pool \(pool), where the request holds capacity; ask \(ask(requester)), which decided it and keeps its explanation"
        }
        if let requester = referrals.requester(of: id), requester != node {
            return
                "\(here) did not decide request \(id): it was only asked to quote for it; ask \(ask(requester)), which decided it and keeps its explanation"
        }
        return
            "no explanation of request \(id) on \(here): it neither decided, forwarded nor quoted for it, or its explanation is older than the last \(requester.explanations.capacity) kept; ask the node the request entered at, whose explanation names the node that decided it"
    }

    mutating func refuseConsole(
        _ code: WireErrorCode, _ text: String, correlationID: UInt64, session: SessionID, type: MessageType
    ) {
        log(.info, "console request refused: \(text)")
        out.append(
            .answer(
                .error(ErrorMessage(code: UInt16(code.rawValue), offset: 0, frameType: type.rawValue, message: text)),
                correlationID: correlationID, session: session))
    }

    func refusal(of request: PlacementRequest, _ reason: RefuseReason, _ message: String) -> Outcome {
        Outcome(
            requestID: request.requestID, idempotencyKey: request.idempotencyKey, result: .refused(reason, message: message),
            explanation: Explanation(
                requestID: request.requestID, decidedBy: node, decidedAt: stepNow, path: [node], consideredCount: 0,
                filteredCount: 0, scoredCount: 0, verdicts: [], chosen: nil))
    }

    /// A tenant's placement was decided: answer the console submission it was waiting under (a
    /// console that went away is not answered; its tenant may retry with the same key).
    mutating func answerTicket(_ ticket: UInt64, with outcome: Outcome, held: Bool) {
        guard let waiting = tickets.removeValue(forKey: ticket) else { return }
        counters.observe(.origin, placed: outcome.isPlaced, seconds: seconds(since: waiting.receivedAt))
        guard sessions[waiting.session] != nil else { return }
        let answer = NodeDirective.answer(.outcome(outcome), correlationID: waiting.correlationID, session: waiting.session)
        if held { afterCommit(answer) } else { out.append(answer) }
    }

    /// Seconds from `instant` to this step's time.
    func seconds(since instant: MeshInstant) -> Double {
        stepNow >= instant ? Double(stepNow.milliseconds - instant.milliseconds) / 1_000 : 0
    }

    /// Console submissions still unanswered well past their deadline are answered here: the
    /// requester answers within the deadline plus its stated bound, so this is a backstop.
    mutating func expireTickets(now: MeshInstant) {
        for ticket in tickets.keys.sorted() {
            guard let waiting = tickets[ticket], waiting.answerBy <= now else { continue }
            tickets[ticket] = nil
            counters.ticketsExpired += 1
            log(
                .error, "placement \(waiting.requestID) had no outcome by its deadline plus the console's grace",
                request: waiting.requestID)
            guard sessions[waiting.session] != nil else { continue }
            let explanation = Explanation(
                requestID: waiting.requestID, decidedBy: node, decidedAt: now, path: [node], consideredCount: 0,
                filteredCount: 0, scoredCount: 0, verdicts: [], chosen: nil)
            out.append(
                .answer(
                    .outcome(
                        Outcome(
                            requestID: waiting.requestID, idempotencyKey: waiting.idempotencyKey,
                            result: .refused(.ownerUnreachable, message: "no outcome in time; retry with the same key"),
                            explanation: explanation)), correlationID: waiting.correlationID, session: waiting.session))
        }
    }

    /// The node's status, as STATUS reports it.
    public func status(now: MeshInstant) -> Status {
        let members = gossip.membership.allMembers
        return Status(
            nodeID: node, role: identity.role, region: identity.region, software: identity.software, now: now,
            uptime: now.since(startedAt), incarnation: gossip.me.incarnation,
            aliveMembers: UInt32(members.filter { $0.status == .alive }.count + 1),
            suspectMembers: UInt32(members.filter { $0.status == .suspect }.count),
            deadMembers: UInt32(members.filter { $0.status == .dead }.count),
            pools: UInt32(owner.poolCount), activeHolds: UInt32(owner.holdCount),
            activeLeases: UInt32(owner.leaseCount), name: identity.name)
    }

    // MARK: - Names

    /// The name `peer` declared, as far as this node knows: its own configured name, the name on
    /// the member's newest fact, or the one a backbone or linked peer sent in HELLO or WELCOME.
    /// A label for consoles only; nothing is decided by it.
    public func name(of peer: NodeID) -> NodeName? {
        if peer == node { return identity.name }
        if let name = gossip.membership.member(peer)?.name { return name }
        if let name = gossip.backbone.first(where: { $0.node == peer })?.name { return name }
        return peers[peer]?.name
    }

    /// The name directory of a console answer (SPEC §5.4.22): the nodes among `nodes` whose name
    /// is known, in NodeID order without repeats, at most ``FieldLimits/maxNamedNodes``.
    func nameDirectory(_ nodes: [NodeID]) -> [NamedNode] {
        var directory: [NamedNode] = []
        var previous: NodeID? = nil
        for peer in nodes.sorted() where peer != previous {
            previous = peer
            guard directory.count < FieldLimits.maxNamedNodes else { break }
            if let name = name(of: peer) { directory.append(NamedNode(node: peer, name: name)) }
        }
        return directory
    }

    /// The nodes an explanation mentions: who decided, the forwarding path, every candidate's
    /// owner and the chosen pool's owner.
    func nameDirectory(mentionedBy explanation: Explanation) -> [NamedNode] {
        nameDirectory(
            [explanation.decidedBy] + explanation.path + explanation.verdicts.map(\.pool.owner)
                + (explanation.chosen.map { [$0.owner] } ?? []))
    }

    /// This node's view: full records of its region's pools, summaries of the other regions.
    ///
    /// Pools in ComputeID order after `after`, at most `limit`, of `region` when given: a pool
    /// matches when its residency is that region (SPEC §6.7.5). Summaries (of other regions, of
    /// `region` when given) travel on the first page only, the one without `after`. The answer
    /// fits `maxFrameBytes`: summaries take at most half of it, pools the rest.
    func inventoryPage(
        region: Region?, after: ComputeID?, limit: Int, now: MeshInstant,
        maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes
    ) -> Inventory {
        let newest = newestPoolRecords(now: now)
        let ids = newest.descriptors.keys.sorted().filter { id in
            (region == nil || newest.descriptors[id]!.1.residency == region!) && (after == nil || id > after!)
        }
        let rows = ids.prefix(limit).map { id in
            let d = newest.descriptors[id]!.0
            let a = newest.availability[id]?.0
            return PoolRow(descriptor: d, availability: a, age: now.since(max(d.issuedAt, a?.issuedAt ?? d.issuedAt)))
        }
        let held =
            after != nil
            ? []
            : gossip.summaries.summaries.filter {
                $0.region != identity.region && (region == nil || $0.region == region!)
            }
        func page(_ pools: Int, _ summaries: Int) -> Inventory {
            let rowsHere = Array(rows.prefix(pools))
            let summariesHere = Array(held.prefix(summaries))
            return Inventory(
                pools: rowsHere, summaries: summariesHere, more: ids.count > pools,
                names: nameDirectory(rowsHere.map(\.descriptor.origin) + summariesHere.map(\.origin)))
        }
        let summaryCount: Int
        if case .inventory(let fitted) = Self.fitted(
            min(held.count, 64), maxFrameBytes: maxFrameBytes / 2,
            { n in
                .inventory(page(0, n))
            })
        {
            summaryCount = fitted.summaries.count
        } else {
            summaryCount = 0
        }
        guard
            case .inventory(let fitted) = Self.fitted(
                rows.count, maxFrameBytes: maxFrameBytes, { n in .inventory(page(n, summaryCount)) })
        else { preconditionFailure("fitted changed the message type") }
        return fitted
    }

    /// The answer `page(n)` with the most rows `n ≤ count` whose frame fits `maxFrameBytes`;
    /// at least one row when there is any (a single row that does not fit is left for the
    /// transport, which answers ERROR internal-error instead of sending it).
    static func fitted(_ count: Int, maxFrameBytes: Int, _ page: (Int) -> WireMessage) -> WireMessage {
        var n = count
        while true {
            let message = page(n)
            let size = answerBytes(message)
            if size <= maxFrameBytes || n <= 1 { return message }
            // A proportional guess, always smaller: converges in a few encodings.
            n = min(n - 1, max(1, n * maxFrameBytes / size))
        }
    }

    /// The size of `message` as a frame.
    static func answerBytes(_ message: WireMessage) -> Int {
        (try? FrameEncoder.frame(message, correlationID: 1).count) ?? Int.max
    }
}
