import MeshCore
import MeshNode
import MeshWire
import Testing

/// GossipCore (membership and gossip) driven directly: no network, no simulator.
@Suite("GossipCore")
struct GossipCoreTests {
    static func id(_ n: UInt64) -> NodeID { NodeID(w0: n, w1: 0, w2: 0, w3: 0) }
    static let region = try! Region("cn-north")

    static func member(_ n: UInt64, port: UInt16) -> MemberUpdate {
        MemberUpdate(
            node: id(n), address: NetAddress(host: "127.0.0.1", port: port), role: .regional, region: region, incarnation: 1,
            status: .alive)
    }

    static func core(_ n: UInt64, port: UInt16, rng: inout SeededRandom) -> GossipCore {
        GossipCore(me: member(n, port: port), config: NodeConfig(), now: .zero, rng: &rng)
    }

    @Test func aPeerThatConnectedIsProbedInTheLivenessLaneWithOurOwnUpdate() {
        var rng = SeededRandom(seed: 1)
        var a = Self.core(1, port: 7001, rng: &rng)
        let out = a.onPeerConnected(Self.member(2, port: 7002), now: .zero, rng: &rng)
        let probes = out.compactMap { d -> (Probe, Lane)? in
            if case .send(.probe(let p), to: Self.id(2), _, let lane) = d { return (p, lane) }
            return nil
        }
        #expect(probes.count == 1)
        #expect(probes.first?.1 == .liveness)
        #expect(probes.first?.0.updates.contains(a.me) == true)
        #expect(out.contains(.emit(.memberChanged(Self.member(2, port: 7002), previous: nil))))
    }

    @Test func aProbeFromAStrangerTeachesItsAddressAndIsAcknowledged() {
        var rng = SeededRandom(seed: 2)
        var a = Self.core(1, port: 7001, rng: &rng)
        var b = Self.core(2, port: 7002, rng: &rng)
        let join = a.onPeerConnected(b.me, now: .zero, rng: &rng)
        guard case .send(let probe, _, _, _)? = join.first(where: { if case .send = $0 { true } else { false } }) else {
            Issue.record("no probe sent: \(join)")
            return
        }
        let answer = b.onMessage(probe, from: a.me.node, now: MeshInstant(milliseconds: 5), rng: &rng)
        #expect(b.membership.member(a.me.node)?.address == a.me.address)
        #expect(
            answer.contains { d in
                if case .send(.probeAck, to: Self.id(1), _, .liveness) = d { return true }
                return false
            })
    }

    @Test func messagesOutsideTheCoresAreReportedAsIgnoredNotDropped() {
        var rng = SeededRandom(seed: 3)
        var a = Self.core(1, port: 7001, rng: &rng)
        let out = a.onMessage(.ping(Ping(nonce: 7, sentAt: .zero)), from: Self.id(9), now: .zero, rng: &rng)
        #expect(out.contains(.emit(.ignored(.ping, from: Self.id(9)))))
    }

    // MARK: - Inventory gossip between two cores, messages carried by hand

    static func record(origin: NodeID, sequence: UInt64, units: UInt64) -> InventoryRecord {
        let id = try! ComputeID(owner: origin, path: ["pool"])
        return InventoryRecord(
            origin: origin, epoch: 1, sequence: sequence, issuedAt: .zero, validUntil: MeshInstant(milliseconds: 600_000),
            body: .availability(
                PoolAvailability(
                    id: id, freeComputeUnits: units, freeMemoryMiB: 0, freeAccelerators: [], pricePerUnitHour: Price(microYuan: 1)
                )))
    }

    /// Delivers every `.send` between the two cores until none is left (at most `rounds`).
    static func pump(
        _ first: [GossipDirective], from sender: NodeID, _ a: inout GossipCore, _ b: inout GossipCore, now: MeshInstant,
        rng: inout SeededRandom, rounds: Int = 16
    ) -> [GossipDirective] {
        var everything: [GossipDirective] = []
        var queue = first.map { (sender, $0) }
        var round = 0
        while !queue.isEmpty && round < rounds * 8 {
            round += 1
            let (from, directive) = queue.removeFirst()
            everything.append(directive)
            guard case .send(let message, let to, _, _) = directive else { continue }
            if to == a.me.node {
                queue += a.onMessage(message, from: from, now: now, rng: &rng).map { (a.me.node, $0) }
            } else if to == b.me.node {
                queue += b.onMessage(message, from: from, now: now, rng: &rng).map { (b.me.node, $0) }
            }
        }
        return everything
    }

    @Test func anIssuedRecordIsPushedInTheBulkLaneAndLearnedByThePeer() {
        var rng = SeededRandom(seed: 4)
        var a = GossipCore(
            me: Self.member(1, port: 7001), config: NodeConfig(), members: [Self.member(2, port: 7002)], now: .zero, rng: &rng)
        var b = GossipCore(
            me: Self.member(2, port: 7002), config: NodeConfig(), members: [Self.member(1, port: 7001)], now: .zero, rng: &rng)
        let record = Self.record(origin: a.me.node, sequence: 1, units: 10)
        _ = a.issue(record, now: .zero)
        let tick = a.onTick(now: MeshInstant(milliseconds: 1), rng: &rng)
        let pushes = tick.filter { d in
            if case .send(.delta(let delta), to: Self.id(2), _, .bulk) = d { return delta.records.contains(record) }
            return false
        }
        #expect(pushes.count == 1, "expected one DELTA push to node 2 in the bulk lane: \(tick)")
        let learned = Self.pump(pushes, from: a.me.node, &a, &b, now: MeshInstant(milliseconds: 2), rng: &rng)
        #expect(learned.contains(.emit(.recordsLearned(count: 1, from: Self.id(1)))))
        #expect(b.inventory.records(of: a.me.node) == [record])
    }

    @Test func aPeerThatMissedThePushCatchesUpThroughTheDigestExchange() {
        var rng = SeededRandom(seed: 5)
        var a = GossipCore(
            me: Self.member(1, port: 7001), config: NodeConfig(), members: [Self.member(2, port: 7002)], now: .zero, rng: &rng)
        var b = GossipCore(
            me: Self.member(2, port: 7002), config: NodeConfig(), members: [Self.member(1, port: 7001)], now: .zero, rng: &rng)
        let records = (1...3).map { Self.record(origin: a.me.node, sequence: $0, units: 10 * $0) }
        for r in records { _ = a.issue(r, now: .zero) }
        // Every push is lost: a's pushes go nowhere.
        var now = MeshInstant(milliseconds: 1)
        for _ in 0..<10 {
            _ = a.onTick(now: now, rng: &rng)
            now = now + .milliseconds(200)
        }
        #expect(b.inventory.records(of: a.me.node).isEmpty)
        // b's anti-entropy timer fires: DIGEST → DIGEST with entries → DELTA.
        var exchanged: [GossipDirective] = []
        for _ in 0..<3 {
            now = now + .milliseconds(NodeConfig().digestIntervalMilliseconds)
            let tick = b.onTick(now: now, rng: &rng).filter { if case .send(.digest, _, _, _) = $0 { true } else { false } }
            exchanged += Self.pump(tick, from: b.me.node, &a, &b, now: now, rng: &rng)
        }
        #expect(exchanged.contains { if case .send(.digest, _, _, .bulk) = $0 { true } else { false } })
        // The newest record per pool wins (field-level records replace older versions of the same field).
        #expect(b.inventory.version(of: a.me.node) == a.inventory.version(of: a.me.node))
        #expect(b.inventory.liveRecords(now: now) == a.inventory.liveRecords(now: now))
    }

    @Test func leavingAnnouncesLeftAtAHigherIncarnationAndPersistsItFirst() {
        var rng = SeededRandom(seed: 6)
        var a = GossipCore(
            me: Self.member(1, port: 7001), config: NodeConfig(), members: [Self.member(2, port: 7002)], now: .zero, rng: &rng)
        let out = a.leave(now: MeshInstant(milliseconds: 10), rng: &rng)
        let persisted = out.firstIndex { if case .persist(.incarnation(2)) = $0 { true } else { false } }
        let announced = out.firstIndex { d in
            if case .send(.probe(let p), _, _, .liveness) = d {
                return p.updates.contains { $0.node == Self.id(1) && $0.status == .left }
            }
            if case .send(.probeAck(let p), _, _, .liveness) = d {
                return p.updates.contains { $0.node == Self.id(1) && $0.status == .left }
            }
            return false
        }
        #expect(a.me.status == .left)
        #expect(persisted != nil, "the higher incarnation is persisted: \(out)")
        #expect(announced != nil, "the departure is sent in the liveness lane: \(out)")
        if let persisted, let announced { #expect(persisted < announced, "persisted before it is sent") }
    }

    @Test func aRegionalNodeSendsRegionSummariesAcrossTheBackboneAndDownToItsIndustryNodes() {
        var rng = SeededRandom(seed: 7)
        var industry = Self.member(3, port: 7003)
        industry.role = .industry
        let east = MemberUpdate(
            node: Self.id(9), address: NetAddress(host: "127.0.0.1", port: 7009), role: .regional, region: try! Region("cn-east"),
            incarnation: 1, status: .alive)
        var a = GossipCore(
            me: Self.member(1, port: 7001), config: NodeConfig(), members: [industry], backbone: [east], now: .zero, rng: &rng)
        let out = a.onTick(now: MeshInstant(milliseconds: NodeConfig().summaryIntervalMilliseconds + 1), rng: &rng)
        let targets = out.compactMap { d -> NodeID? in
            if case .send(.regionSummaries(let s), let to, _, .bulk) = d,
                s.summaries.contains(where: { $0.region == Self.region })
            {
                return to
            }
            return nil
        }
        #expect(targets.contains(east.node), "the backbone peer gets the summaries: \(out)")
        #expect(targets.contains(industry.node), "the region's industry node gets them too: \(out)")
    }

    @Test func everyBackbonePeerGetsSummariesOnceEveryPeerCountIntervals() {
        var rng = SeededRandom(seed: 8)
        let peers = (0..<3).map { i in
            MemberUpdate(
                node: Self.id(20 + UInt64(i)), address: NetAddress(host: "127.0.0.1", port: 7020 + UInt16(i)), role: .regional,
                region: try! Region("cn-east-\(i)"), incarnation: 1, status: .alive)
        }
        var a = GossipCore(me: Self.member(1, port: 7001), config: NodeConfig(), backbone: peers, now: .zero, rng: &rng)
        let interval = NodeConfig().summaryIntervalMilliseconds
        var received: [NodeID] = []
        for k in 1...9 {
            for d in a.onTick(now: MeshInstant(milliseconds: interval * UInt64(k) + 1), rng: &rng) {
                if case .send(.regionSummaries, let to, _, .bulk) = d { received.append(to) }
            }
        }
        #expect(received.count == 9, "one send per interval: \(received)")
        for window in stride(from: 0, to: received.count - 2, by: 1) {
            #expect(Set(received[window..<window + 3]).count == 3, "any 3 intervals in a row reach all 3 peers: \(received)")
        }
    }
}
