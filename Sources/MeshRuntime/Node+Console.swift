import MeshCore
import MeshNode
import MeshPlacement
import MeshTransport
import MeshWire

/// The debug console (DESIGN.md §1, operational monitoring): requests from a connection whose
/// certificate has the operator role. Every request with a correlation ID gets exactly one
/// answer with that ID: its response, or ERROR naming what was wrong.
extension Node {
    /// The most rows in one MEMBERS, INVENTORY or PLACEMENTS answer.
    static let maxConsoleRows = 256

    func onConsole(_ message: WireMessage, correlationID: UInt64, on id: ConnectionID, now: MeshInstant) {
        func answer(_ response: WireMessage) {
            transport.send(response, correlationID: correlationID, on: id, respondsToRequest: true)
        }
        func refuse(_ code: WireErrorCode, _ text: String) {
            logger.with("console", "\(id)").info("console request refused: \(text)")
            answer(.error(ErrorMessage(code: UInt16(code.rawValue), offset: 0, frameType: message.type.rawValue, message: text)))
        }
        switch message {
        case .statusRequest:
            let members = core.membership.allMembers
            answer(
                .status(
                    Status(
                        nodeID: nodeID, role: configuration.role, region: configuration.region, software: "meshd/1", now: now,
                        uptime: now.since(startedAt), incarnation: core.me.incarnation,
                        aliveMembers: UInt32(members.filter { $0.status == .alive }.count + 1),
                        suspectMembers: UInt32(members.filter { $0.status == .suspect }.count),
                        deadMembers: UInt32(members.filter { $0.status == .dead }.count),
                        pools: UInt32(owner.snapshot.pools.count), activeHolds: UInt32(owner.holdCount),
                        activeLeases: UInt32(owner.leaseCount))))
        case .membersRequest(let r):
            let limit = min(Int(r.limit), Node.maxConsoleRows)
            let all = ([core.me] + core.membership.allMembers).sorted { $0.node < $1.node }
            let after = all.filter { r.after == nil || $0.node > r.after! }
            let rows = after.prefix(limit).map { update in
                MemberRow(
                    update: update,
                    sinceChange: update.node == nodeID
                        ? now.since(startedAt) : now.since(memberChangedAt[update.node] ?? startedAt))
            }
            answer(.members(Members(members: Array(rows), more: after.count > limit)))
        case .inventoryRequest(let r):
            let limit = min(Int(r.limit), Node.maxConsoleRows)
            answer(.inventory(inventoryPage(region: r.region, after: r.after, limit: limit, now: now)))
        case .placementsRequest(let r):
            let limit = min(Int(r.limit), Node.maxConsoleRows)
            let leases = owner.snapshot.leases.map(\.lease).filter { r.tenant == nil || $0.tenant == r.tenant! }
                .sorted { $0.leaseID < $1.leaseID }
            answer(.placements(Placements(leases: Array(leases.prefix(limit)), more: leases.count > limit)))
        case .whyRequest(let r):
            guard let explanation = explanations.why(r.requestID) else {
                return refuse(
                    .invalidValue,
                    "no decision for request \(r.requestID) on this node: ask the node where it was placed (the last \(explanations.capacity) decisions are kept)"
                )
            }
            if let pool = r.pool {
                guard let verdict = explanations.whyNot(r.requestID, pool: pool) else {
                    return refuse(.invalidValue, "request \(r.requestID) did not consider pool \(pool)")
                }
                answer(.why(Why(explanation: explanation, focus: verdict)))
            } else {
                answer(.why(Why(explanation: explanation, focus: nil)))
            }
        case .registerPool(let r):
            let d = r.descriptor
            guard d.id.owner == nodeID else {
                return refuse(
                    .invalidValue,
                    "the pool's ComputeID names owner \(d.id.owner.short), not this node (\(nodeID.short)): ask STATUS for the node ID"
                )
            }
            do {
                // Durable before the answer: register() commits through the owner ledger.
                let pool = try register(PoolSpec(d), now: now)
                publish(pool.descriptor, now: now)
                // A pool is placeable here as soon as its registration is acknowledged.
                refreshView(now: now)
                viewDirty = false
                logger.with("pool", pool.descriptor.id.description).info("pool registered by a console")
                publishEvent(.inventory, .info, subject: pool.descriptor.id.description, detail: "registered", now: now)
                answer(.poolRegistered(PoolRegistered(id: pool.descriptor.id, epoch: pool.epoch, sequence: pool.sequence)))
            } catch {
                refuse(.invalidValue, error.description)
            }
        case .place(let request):
            do { try request.validate() } catch { return refuse(.invalidValue, "\(error)") }
            guard waitingPlacements.count < Node.maxWaitingPlacements || waitingPlacements[request.requestID] != nil else {
                return refuse(.overloaded, "\(Node.maxWaitingPlacements) placements are in progress; retry later")
            }
            waitingPlacements[request.requestID, default: []].append((id, correlationID))
            perform(requester.onPlace(request, now: now, rng: &rng), now: now)
        case .subscribe:
            consoles[id] = true
        case .unsubscribe:
            consoles[id] = false
        case .hello, .welcome, .reject, .goAway, .error, .ping, .pong, .probe, .probeAck, .indirectProbe, .nack, .digest,
            .delta, .regionSummaries, .revocationList, .quoteRequest, .quote, .refuse, .confirm, .confirmed, .release, .renew,
            .leaseStatus, .forward, .outcome, .status, .members, .inventory, .placements, .why, .event, .poolRegistered:
            if correlationID != 0 { refuse(.unexpectedMessage, "a console does not send \(message.type.name ?? "this")") }
        }
    }

    /// A tenant's placement was decided: answer every console that asked for it.
    func answerPlacement(_ outcome: Outcome) {
        guard let waiting = waitingPlacements.removeValue(forKey: outcome.requestID) else { return }
        let message = PlacementWire.wire(.outcome(outcome))
        for (id, correlationID) in waiting {
            transport.send(message, correlationID: correlationID, on: id, respondsToRequest: true)
        }
    }

    /// This node's view: full records of its region's pools, summaries of the other regions.
    func inventoryPage(region: Region?, after: ComputeID?, limit: Int, now: MeshInstant) -> Inventory {
        let newest = newestPoolRecords(now: now)
        let descriptors = newest.descriptors.filter { region == nil || $0.value.1.residency == region! }.mapValues(\.0)
        let availability = newest.availability.mapValues(\.0)
        let ids = descriptors.keys.sorted().filter { after == nil || $0 > after! }
        let rows = ids.prefix(limit).map { id in
            let d = descriptors[id]!
            let a = availability[id]
            return PoolRow(descriptor: d, availability: a, age: now.since(max(d.issuedAt, a?.issuedAt ?? d.issuedAt)))
        }
        let summaries = core.summaries.summaries.filter {
            $0.region != configuration.region && (region == nil || $0.region == region!)
        }
        return Inventory(pools: Array(rows), summaries: Array(summaries.prefix(64)), more: ids.count > limit)
    }
}
