public import MeshCore
public import MeshGossip
public import MeshMembership
public import MeshNode
public import MeshWire

/// An invariant the simulator found broken: what, where, and the seed that reproduces it.
public struct SimViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var at: MeshInstant
    public var what: String
    public var description: String { "invariant broken at \(at): \(what) (replay with MESH_SIM_SEED=\(seed))" }
}

/// Traffic counters.
public struct SimTraffic: Hashable, Sendable {
    /// Frames and bytes handed to the network, by message type name.
    public var framesByType: [String: UInt64] = [:]
    public var bytesByType: [String: UInt64] = [:]
    /// Frames lost to faults (loss, partitions, crashed receivers).
    public var dropped: UInt64 = 0
    /// The largest DIGEST frame seen, in bytes.
    public var maxDigestBytes: Int = 0
    /// Inventory records carried by DELTA frames that reached a running node.
    public var recordsDelivered: UInt64 = 0
    public var totalBytes: UInt64 { bytesByType.values.reduce(0, +) }
}

/// Many ``NodeCore``s on one virtual clock over a simulated network.
///
/// Every frame is encoded with the real codec (`FrameEncoder`) and decoded again
/// (`WireMessage.decode`) before delivery, and its bytes are counted. Loss, delay, duplication,
/// reordering, partitions (symmetric and one-way), slow nodes, crashes and restarts all draw from
/// one seed, so a run is reproduced exactly from it. Invariants are checked on every event:
/// a node's own incarnation never goes backwards (across restarts too), an observer's view of a
/// member's incarnation never goes backwards, and a dead member is never seen alive again at the
/// same incarnation.
public final class Simulator {
    public let seed: UInt64
    public let nodeConfig: NodeConfig
    public var network: SimNetworkConfig
    public var partition: SimPartition
    public private(set) var now: MeshInstant = .zero
    public private(set) var traffic = SimTraffic()
    /// Bytes each node sent and received.
    public private(set) var sentBytes: [UInt64]
    public private(set) var receivedBytes: [UInt64]
    /// The first invariant broken, if any.
    public private(set) var violation: SimViolation?
    /// Called with (observer, event) for every event a node emits.
    public var onEvent: ((Int, NodeEvent, MeshInstant) -> Void)?
    /// Called with (sender, receiver, message, delivered) for every frame handed to the network
    /// (diagnostics: which messages carried a fact, and whether the network lost them).
    public var onSend: ((Int, Int, WireMessage, Bool) -> Void)?

    public private(set) var ids: [NodeID]
    public private(set) var addresses: [NetAddress]
    var index: [NodeID: Int32] = [:]
    var nodes: [NodeCore?]
    var rngs: [SeededRandom]
    var rng: SeededRandom
    var nextTick: [UInt64]
    var queue = EventQueue()
    /// Nodes that run but answer late.
    public var slow: [Bool]
    /// Each node's last persisted incarnation (survives crashes).
    public private(set) var persistedIncarnation: [UInt64]
    var epochs: [UInt64]
    /// Per observer × member: last incarnation and status seen (for invariant checks), when small
    /// enough to keep (`n ≤ maxCheckedNodes`).
    var viewIncarnation: [UInt64] = []
    var viewStatus: [UInt8] = []
    let checked: Bool
    let regionOf: [Region]
    let roleOf: [Role]

    /// Whether nodes that decode equal inventory records share one stored copy (see
    /// `sharingDecodedRecords`); on by default, off to measure what separate copies cost.
    public var sharesDecodedRecords = true
    /// Distinct records decoded so far, for sharing.
    var sharedRecords: Set<InventoryRecord> = []
    /// The most records the sharing table holds before it is emptied (a bound on its memory:
    /// records already held by nodes stay shared, later ones start a new table).
    public static let maxSharedRecords = 1 << 20

    /// The most nodes for which per-pair view invariants are tracked (memory is n²).
    public static let maxCheckedNodes = 3000

    /// Creates `count` nodes that all know each other (a converged cluster), in `regions` regions
    /// of equal size (membership and inventory are per region; the first node of each region is
    /// regional, the rest industry).
    public init(
        count: Int, seed: UInt64, nodeConfig: NodeConfig, network: SimNetworkConfig = .lan, regions: Int = 1
    ) {
        precondition(count > 1 && regions >= 1 && count % regions == 0, "need n > 1 nodes in equal regions")
        self.seed = seed
        self.nodeConfig = nodeConfig
        self.network = network
        partition = .none(nodes: count)
        rng = SeededRandom(seed: seed)
        var idRng = rng.fork()
        ids = (0..<count).map { _ in NodeID(w0: idRng.next(), w1: idRng.next(), w2: idRng.next(), w3: idRng.next()) }
        addresses = (0..<count).map { NetAddress(host: "10.\($0 >> 16).\(($0 >> 8) & 255).\($0 & 255)", port: 7946) }
        let perRegion = count / regions
        let regionCodes = (0..<regions).map { try! Region("sim-r\($0)") }
        regionOf = (0..<count).map { regionCodes[$0 / perRegion] }
        roleOf = (0..<count).map { $0 % perRegion == 0 ? .regional : .industry }
        for (i, id) in ids.enumerated() { index[id] = Int32(i) }
        nodes = Array(repeating: nil, count: count)
        rngs = (0..<count).map { _ in SeededRandom(seed: 0) }
        nextTick = Array(repeating: .max, count: count)
        slow = Array(repeating: false, count: count)
        persistedIncarnation = Array(repeating: 0, count: count)
        epochs = Array(repeating: 1, count: count)
        sentBytes = Array(repeating: 0, count: count)
        receivedBytes = Array(repeating: 0, count: count)
        checked = count <= Simulator.maxCheckedNodes
        if checked {
            viewIncarnation = Array(repeating: 0, count: count * count)
            viewStatus = Array(repeating: 0, count: count * count)
        }
        for i in 0..<count { start(i, incarnation: 0) }
    }

    public var count: Int { ids.count }

    /// Whether node `i` is running.
    public func isUp(_ i: Int) -> Bool { nodes[i] != nil }

    /// Node `i`'s core (nil while crashed).
    public func node(_ i: Int) -> NodeCore? { nodes[i] }

    func update(_ i: Int, incarnation: UInt64, status: MemberStatus = .alive) -> MemberUpdate {
        MemberUpdate(
            node: ids[i], address: addresses[i], role: roleOf[i], region: regionOf[i], incarnation: incarnation, status: status)
    }

    /// The index range of node `i`'s region.
    public func regionMembers(of i: Int) -> [Int] { (0..<count).filter { regionOf[$0] == regionOf[i] } }

    func start(_ i: Int, incarnation: UInt64) {
        var nodeRng = rng.fork()
        let peers = (0..<count).filter { $0 != i && regionOf[$0] == regionOf[i] }.map { update($0, incarnation: 0) }
        let backbone =
            roleOf[i] == .regional
            ? (0..<count).filter { $0 != i && roleOf[$0] == .regional }.map { update($0, incarnation: 0) } : []
        let core = NodeCore(
            me: update(i, incarnation: incarnation), config: nodeConfig, members: peers, backbone: backbone, now: now,
            rng: &nodeRng)
        nodes[i] = core
        rngs[i] = nodeRng
        if checked {
            for t in 0..<count {
                viewIncarnation[i * count + t] = 0
                viewStatus[i * count + t] = MemberStatus.alive.rawValue
            }
        }
        scheduleTick(i, at: now.milliseconds)
    }

    // MARK: - Faults

    /// Crashes node `i`: its state is lost except what it persisted.
    public func crash(_ i: Int) {
        nodes[i] = nil
        nextTick[i] = .max
    }

    /// Restarts a crashed node from its persisted incarnation (plus one) and a new inventory epoch.
    public func restart(_ i: Int) {
        precondition(nodes[i] == nil, "node \(i) is running")
        epochs[i] += 1
        persistedIncarnation[i] += 1
        start(i, incarnation: persistedIncarnation[i])
    }

    /// The inventory epoch node `i` issues records in.
    public func epoch(of i: Int) -> UInt64 { epochs[i] }

    // MARK: - Inputs

    /// Delivers an input to node `i` now and carries out its directives.
    public func with(_ i: Int, _ body: (inout NodeCore, inout SeededRandom, MeshInstant) -> [NodeDirective]) {
        // Moved out of the array, not copied: a second reference would make every change to the
        // core's tables (member table, inventory logs) copy the whole table first.
        guard var core = nodes[i].take() else { return }
        var nodeRng = rngs[i]
        let out = body(&core, &nodeRng, now)
        nodes[i] = core
        rngs[i] = nodeRng
        perform(out, from: i)
    }

    // MARK: - Running

    /// Runs events until `until` (inclusive), or until an invariant breaks.
    public func run(until: MeshInstant) {
        while violation == nil, let time = queue.nextTime, time <= until.milliseconds {
            let entry = queue.pop()!
            now = MeshInstant(milliseconds: entry.time)
            switch entry.event {
            case .tick(let node):
                let i = Int(node)
                guard nextTick[i] == entry.time, nodes[i] != nil else { continue }
                nextTick[i] = .max
                with(i) { core, rng, now in core.onTick(now: now, rng: &rng) }
            case .deliver(let from, let to, let frame):
                let i = Int(to)
                guard nodes[i] != nil else {
                    traffic.dropped += 1
                    continue
                }
                receivedBytes[i] += UInt64(frame.count)
                let decoded: DecodedFrame
                do { decoded = try WireMessage.decode(frameBytes: frame) } catch {
                    fail("node \(from) sent a frame node \(to) cannot decode: \(error)")
                    continue
                }
                guard case .message(let message, _, _) = decoded else {
                    fail("frame from node \(from) was skipped")
                    continue
                }
                if case .delta(let d) = message { traffic.recordsDelivered += UInt64(d.records.count) }
                let sender = ids[Int(from)]
                let shared = sharingDecodedRecords(message)
                with(i) { core, rng, now in core.onMessage(shared, from: sender, now: now, rng: &rng) }
            }
        }
        if violation == nil { now = Swift.max(now, until) }
    }

    /// Replaces each inventory record of a decoded DELTA by the equal record decoded earlier, if
    /// any, so that the nodes holding it share one stored copy (``InventoryRecord`` keeps its
    /// fields in one immutable shared object).
    ///
    /// Why: in a real cluster each node is its own process and holds its region's records once; in
    /// the simulator 10,000 nodes share one process, and without this every node would keep its
    /// own decoded copy of the same bytes: 1,000 copies of each of a region's records, most of
    /// the 10 × 1,000-node scenario's memory (issue 3: within 8 GiB). What is simulated does not
    /// change: every frame is still encoded and decoded by the real codec, and each node receives
    /// a record equal to the one decoded (equal values, value semantics). The table holds every
    /// distinct record delivered, at most ``maxSharedRecords`` before it starts again.
    func sharingDecodedRecords(_ message: WireMessage) -> WireMessage {
        guard sharesDecodedRecords, case .delta(var delta) = message else { return message }
        if sharedRecords.count >= Simulator.maxSharedRecords { sharedRecords.removeAll() }
        for index in delta.records.indices {
            delta.records[index] = sharedRecords.insert(delta.records[index]).memberAfterInsert
        }
        return .delta(delta)
    }

    func scheduleTick(_ i: Int, at time: UInt64) {
        var time = time
        if slow[i], network.slowNodeDelayMilliseconds > 0 { time += rng.next(below: network.slowNodeDelayMilliseconds + 1) }
        guard time != nextTick[i] else { return }
        nextTick[i] = time
        queue.push(time, .tick(node: Int32(i)))
    }

    func perform(_ directives: [NodeDirective], from i: Int) {
        for directive in directives {
            switch directive {
            case .send(let message, let to, _, _):
                send(message, from: i, to: to)
            case .connect, .disconnect:
                break  // links are implicit in the simulated network
            case .persist(let item):
                switch item {
                case .incarnation(let incarnation):
                    if incarnation <= persistedIncarnation[i], persistedIncarnation[i] > 0 || incarnation == 0 {
                        fail("node \(i) persisted incarnation \(incarnation) after \(persistedIncarnation[i])")
                    }
                    persistedIncarnation[i] = Swift.max(persistedIncarnation[i], incarnation)
                case .ownRecord:
                    break
                }
            case .emit(let event):
                if case .memberChanged(let update, _) = event { check(observer: i, update) }
                onEvent?(i, event, now)
            case .scheduleTick(let at):
                scheduleTick(i, at: at.milliseconds)
            }
        }
    }

    func send(_ message: WireMessage, from i: Int, to: NodeID) {
        guard let j32 = index[to] else { return }
        let j = Int(j32)
        let frame: [UInt8]
        do { frame = try FrameEncoder.frame(message) } catch {
            fail("node \(i) built a frame too large to send: \(error)")
            return
        }
        let name = message.type.name ?? "?"
        traffic.framesByType[name, default: 0] += 1
        traffic.bytesByType[name, default: 0] += UInt64(frame.count)
        if case .digest = message { traffic.maxDigestBytes = Swift.max(traffic.maxDigestBytes, frame.count) }
        sentBytes[i] += UInt64(frame.count)
        if partition.cuts(from: i, to: j) || rng.chance(permille: network.lossPermille) {
            traffic.dropped += 1
            onSend?(i, j, message, false)
            return
        }
        onSend?(i, j, message, true)
        let copies = rng.chance(permille: network.duplicatePermille) ? 2 : 1
        for _ in 0..<copies {
            var delay =
                network.minDelayMilliseconds + rng.next(below: network.maxDelayMilliseconds - network.minDelayMilliseconds + 1)
            if network.tailPermille > 0, rng.chance(permille: network.tailPermille) {
                delay += rng.next(below: network.tailDelayMilliseconds + 1)
            }
            if slow[j], network.slowNodeDelayMilliseconds > 0 { delay += rng.next(below: network.slowNodeDelayMilliseconds + 1) }
            queue.push(now.milliseconds + delay, .deliver(from: Int32(i), to: j32, frame: frame))
        }
    }

    // MARK: - Invariants

    func fail(_ what: String) {
        if violation == nil { violation = SimViolation(seed: seed, at: now, what: what) }
    }

    func check(observer o: Int, _ update: MemberUpdate) {
        guard checked, let t32 = index[update.node] else { return }
        let slot = o * count + Int(t32)
        let lastIncarnation = viewIncarnation[slot]
        let lastStatus = MemberStatus(rawValue: viewStatus[slot]) ?? .alive
        if update.incarnation < lastIncarnation {
            fail("node \(o) saw node \(t32)'s incarnation go back from \(lastIncarnation) to \(update.incarnation)")
        }
        if lastStatus == .dead || lastStatus == .left, update.status == .alive || update.status == .suspect,
            update.incarnation <= lastIncarnation
        {
            fail(
                "node \(o) resurrected node \(t32) at incarnation \(update.incarnation) (was \(lastStatus) at \(lastIncarnation))"
            )
        }
        viewIncarnation[slot] = update.incarnation
        viewStatus[slot] = update.status.rawValue
    }

    /// Nodes whose view of their region disagrees with the truth: a running node sees a running
    /// region member as anything but alive, or a crashed one as alive. Empty when converged.
    public func unconverged(ignoring ignored: Set<Int> = []) -> [Int] {
        var bad: [Int] = []
        for o in 0..<count where nodes[o] != nil && !ignored.contains(o) {
            let core = nodes[o]!
            for t in regionMembers(of: o) where t != o && !ignored.contains(t) {
                let status = core.membership.member(ids[t])?.status
                if nodes[t] != nil ? status != .alive : (status == .alive || status == .suspect) {
                    bad.append(o)
                    break
                }
            }
        }
        return bad
    }
}
