public import MeshCore
public import MeshGossip
public import MeshMembership
public import MeshNode
public import MeshPlacement
public import MeshStore
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

/// What one simulated node is: its place in the federation and what its configuration registers.
public struct SimNodeSpec: Sendable {
    public var role: Role
    public var region: Region
    public var sectors: [Sector]
    /// The pools its configuration registers at every start.
    public var pools: [PoolSpec]

    public init(role: Role, region: Region, sectors: [Sector] = [], pools: [PoolSpec] = []) {
        self.role = role
        self.region = region
        self.sectors = sectors
        self.pools = pools
    }
}

/// Whole nodes (``NodeCore``s, the same the daemon runs) on one virtual clock, over a simulated
/// network and simulated disks.
///
/// Every frame is encoded with the real codec (`FrameEncoder`) and decoded again
/// (`WireMessage.decode`) before delivery, and its bytes are counted; a node's messages to itself
/// take the same queue. Loss, delay, duplication, reordering, partitions (symmetric and one-way),
/// slow nodes, connection signals, commit latency and failure, crashes (between a commit and its
/// answers too) and restarts from what was persisted all draw from one seed, so a run is
/// reproduced exactly from it. Invariants are checked on every event: a node's own incarnation
/// never goes backwards (across restarts too), an observer's view of a member's incarnation never
/// goes backwards, and a dead member is never seen alive again at the same incarnation.
public final class Simulator {
    public let seed: UInt64
    public let nodeConfig: NodeConfig
    public var network: SimNetworkConfig
    public var partition: SimPartition
    public var storage: SimStorageConfig
    public private(set) var now: MeshInstant = .zero
    /// Inputs handled so far, all nodes together (a step is one input through one node's core).
    public private(set) var steps: UInt64 = 0
    /// Nodes stopped by the storage model: halted by a failed commit (exit 3 in meshd), or crashed
    /// right after a commit, before anything that waited for it left.
    public private(set) var halts = 0
    public private(set) var crashesAfterCommit = 0
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
    /// Called with (node, session, message, correlation ID) for every answer and push to a console.
    public var onConsole: ((Int, SessionID, WireMessage, UInt64) -> Void)?
    /// Called when a node crashes or halts (its console sessions are gone).
    public var onCrash: ((Int) -> Void)?
    /// Called with (node, changes) for every batch that became durable, in commit order.
    public var onDurable: ((Int, [LedgerChange]) -> Void)?

    public private(set) var ids: [NodeID]
    public private(set) var addresses: [NetAddress]
    var index: [NodeID: Int32] = [:]
    var nodes: [NodeCore?]
    /// Whether each node runs (kept beside `nodes`: testing an optional core for nil copies it).
    var up: [Bool]
    var rngs: [SeededRandom]
    var rng: SeededRandom
    var nextTick: [UInt64]
    var queue = EventQueue()
    /// Nodes that run but answer late.
    public var slow: [Bool]
    /// Each node's last persisted incarnation ceiling (survives crashes).
    public private(set) var persistedIncarnation: [UInt64]
    var epochs: [UInt64]
    /// Each node's run, counted from 0: inputs of an earlier run are dropped.
    var generation: [UInt32]
    /// Per observer × member: last incarnation and status seen (for invariant checks), when small
    /// enough to keep (`n ≤ maxCheckedNodes`).
    var viewIncarnation: [UInt64] = []
    var viewStatus: [UInt8] = []
    let checked: Bool
    let specs: [SimNodeSpec]

    // Storage: each node's durable ledger, what waits to be committed and what is being committed.
    public private(set) var stores: [InMemoryLedgerStore]
    var commitQueue: [[(PersistBatch, UInt64)]]
    var committing: [[(PersistBatch, UInt64)]]
    /// Nodes halted by a failed commit or crashed by the storage model, to restart.
    public private(set) var halted: [Bool]

    // Connections (``SimNetworkConfig/signalsConnections``): when each node last sent to each
    // other, and frames waiting to be reported unreachable.
    var lastContact: [UInt64] = []
    var unreachableFrames: [Int: [WireMessage]] = [:]

    // Consoles.
    var nextSession: UInt64 = 1
    var sessionNode: [SessionID: Int] = [:]

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
    /// regional, the rest industry), with no pools.
    public convenience init(
        count: Int, seed: UInt64, nodeConfig: NodeConfig, network: SimNetworkConfig = .lan, regions: Int = 1
    ) {
        precondition(count > 1 && regions >= 1 && count % regions == 0, "need n > 1 nodes in equal regions")
        let perRegion = count / regions
        let regionCodes = (0..<regions).map { try! Region("sim-r\($0)") }
        let specs = (0..<count).map { i in
            SimNodeSpec(role: i % perRegion == 0 ? .regional : .industry, region: regionCodes[i / perRegion])
        }
        self.init(specs: specs, seed: seed, nodeConfig: nodeConfig, network: network)
    }

    /// Creates one node per spec, converged: each knows its region's members and (regional nodes)
    /// every regional node of the other regions; each registers its pools.
    public init(
        specs: [SimNodeSpec], seed: UInt64, nodeConfig: NodeConfig, network: SimNetworkConfig = .lan,
        storage: SimStorageConfig = .instant
    ) {
        let count = specs.count
        precondition(count > 1, "need n > 1 nodes")
        self.seed = seed
        self.nodeConfig = nodeConfig
        self.network = network
        self.storage = storage
        self.specs = specs
        partition = .none(nodes: count)
        rng = SeededRandom(seed: seed)
        var idRng = rng.fork()
        ids = (0..<count).map { _ in NodeID(w0: idRng.next(), w1: idRng.next(), w2: idRng.next(), w3: idRng.next()) }
        addresses = (0..<count).map { NetAddress(host: "10.\($0 >> 16).\(($0 >> 8) & 255).\($0 & 255)", port: 7946) }
        for (i, id) in ids.enumerated() { index[id] = Int32(i) }
        nodes = Array(repeating: nil, count: count)
        up = Array(repeating: false, count: count)
        rngs = (0..<count).map { _ in SeededRandom(seed: 0) }
        nextTick = Array(repeating: .max, count: count)
        slow = Array(repeating: false, count: count)
        persistedIncarnation = Array(repeating: 0, count: count)
        epochs = Array(repeating: 1, count: count)
        generation = Array(repeating: 0, count: count)
        sentBytes = Array(repeating: 0, count: count)
        receivedBytes = Array(repeating: 0, count: count)
        stores = (0..<count).map { _ in InMemoryLedgerStore() }
        commitQueue = Array(repeating: [], count: count)
        committing = Array(repeating: [], count: count)
        halted = Array(repeating: false, count: count)
        checked = count <= Simulator.maxCheckedNodes
        if checked {
            viewIncarnation = Array(repeating: 0, count: count * count)
            viewStatus = Array(repeating: 0, count: count * count)
        }
        if network.signalsConnections { lastContact = Array(repeating: 0, count: count * count) }
        for i in 0..<count { start(i, incarnation: 0) }
    }

    public var count: Int { ids.count }

    /// Whether node `i` is running.
    public func isUp(_ i: Int) -> Bool { up[i] }

    /// Node `i`'s core (nil while crashed).
    public func node(_ i: Int) -> NodeCore? { nodes[i] }

    /// Node `i`'s role and region.
    public func spec(of i: Int) -> SimNodeSpec { specs[i] }

    func update(_ i: Int, incarnation: UInt64, status: MemberStatus = .alive) -> MemberUpdate {
        MemberUpdate(
            node: ids[i], address: addresses[i], role: specs[i].role, region: specs[i].region, incarnation: incarnation,
            status: status)
    }

    func credentials(_ i: Int) -> PeerCredentials {
        PeerCredentials(node: ids[i], role: specs[i].role, region: specs[i].region)
    }

    /// The indices of node `i`'s region.
    public func regionMembers(of i: Int) -> [Int] { (0..<count).filter { specs[$0].region == specs[i].region } }

    /// Starts node `i` from what it persisted, at `incarnation`, storing the next ceiling first
    /// (as meshd does before it speaks).
    func start(_ i: Int, incarnation: UInt64) {
        var nodeRng = rng.fork()
        let peers = (0..<count).filter { $0 != i && specs[$0].region == specs[i].region }.map { update($0, incarnation: 0) }
        let backbone =
            specs[i].role == .regional
            ? (0..<count).filter { $0 != i && specs[$0].role == .regional && specs[$0].region != specs[i].region }
                .map { update($0, incarnation: 0) } : []
        let ceiling = incarnation + nodeConfig.incarnationBlock
        persistedIncarnation[i] = ceiling
        let identity = NodeIdentity(
            node: ids[i], role: specs[i].role, region: specs[i].region, sectors: specs[i].sectors, address: addresses[i])
        var core: NodeCore
        do {
            core = try NodeCore(
                identity: identity, config: nodeConfig, incarnation: incarnation, durableIncarnation: ceiling,
                ledger: try stores[i].load(), decisions: try stores[i].decisions(at: now),
                explanations: try stores[i].explanations(), members: peers,
                backboneMembers: backbone, now: now, rng: &nodeRng)
        } catch {
            preconditionFailure("node \(i) cannot start from its own ledger: \(error)")
        }
        if checked {
            for t in 0..<count {
                viewIncarnation[i * count + t] = 0
                viewStatus[i * count + t] = MemberStatus.alive.rawValue
            }
        }
        let directives: [NodeDirective]
        do { directives = try core.start(pools: specs[i].pools, now: now) } catch {
            preconditionFailure("node \(i)'s pools do not register: \(error)")
        }
        nodes[i] = core
        up[i] = true
        rngs[i] = nodeRng
        halted[i] = false
        perform(directives, from: i)
    }

    // MARK: - Faults

    /// Crashes node `i`: its state is lost except what it committed; commits in progress are lost.
    public func crash(_ i: Int) {
        guard up[i] else { return }
        nodes[i] = nil
        up[i] = false
        nextTick[i] = .max
        generation[i] &+= 1
        commitQueue[i] = []
        committing[i] = []
        for (session, node) in sessionNode where node == i { sessionNode[session] = nil }
        onCrash?(i)
        guard network.signalsConnections else { return }
        // The crashed process's links close: its recent peers hear it at once.
        for j in 0..<count where j != i && up[j] {
            let last = lastContact[j * count + i]
            if last > 0 && now.milliseconds - last < 60_000 {
                queue.push(now.milliseconds + 1, .input(node: Int32(j), generation: generation[j], .peerUnlinked(ids[i])))
            }
        }
    }

    /// Restarts a crashed node from its persisted state (ledger, incarnation ceiling) with a new
    /// inventory epoch.
    public func restart(_ i: Int) {
        precondition(!up[i], "node \(i) is running")
        epochs[i] += 1
        start(i, incarnation: persistedIncarnation[i] + 1)
    }

    /// The inventory epoch node `i` issues records in.
    public func epoch(of i: Int) -> UInt64 { epochs[i] }

    // MARK: - Inputs

    /// Delivers an input to node `i` now and carries out its directives.
    public func with(_ i: Int, _ body: (inout NodeCore, inout SeededRandom, MeshInstant) -> [NodeDirective]) {
        // Moved out of the array, not copied: a second reference would make every change to the
        // core's tables (member table, inventory logs) copy the whole table first.
        guard var core = nodes[i].take() else { return }
        steps += 1
        var nodeRng = rngs[i]
        let out = body(&core, &nodeRng, now)
        nodes[i] = core
        rngs[i] = nodeRng
        perform(out, from: i)
    }

    /// Opens a console session at node `i` (nil while it is down).
    public func openSession(at i: Int, operator id: NodeID) -> SessionID? {
        guard up[i] else { return nil }
        let session = SessionID(nextSession)
        nextSession += 1
        sessionNode[session] = i
        with(i) { core, rng, now in core.handle(.sessionOpened(session, operator: id), now: now, rng: &rng) }
        return session
    }

    /// Closes a console session.
    public func closeSession(_ session: SessionID) {
        guard let i = sessionNode.removeValue(forKey: session) else { return }
        with(i) { core, rng, now in core.handle(.sessionClosed(session), now: now, rng: &rng) }
    }

    /// Whether a console session is still open (its node has not crashed since).
    public func isOpen(_ session: SessionID) -> Bool { sessionNode[session] != nil }

    /// A console request, through the real codec, reaching its node after `delayMilliseconds`.
    public func submit(_ message: WireMessage, correlationID: UInt64, session: SessionID, delayMilliseconds: UInt64 = 1) {
        guard let i = sessionNode[session] else { return }
        let decoded = roundTrip(message, correlationID: correlationID, context: "console request to node \(i)")
        guard let decoded else { return }
        queue.push(
            now.milliseconds + delayMilliseconds,
            .input(
                node: Int32(i), generation: generation[i],
                .consoleRequest(decoded, correlationID: correlationID, session: session)))
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
                guard nextTick[i] == entry.time, up[i] else { continue }
                nextTick[i] = .max
                with(i) { core, rng, now in core.handle(.tick, now: now, rng: &rng) }
            case .deliver(let from, let to, let frame):
                let i = Int(to)
                guard up[i] else {
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
                let sender = credentials(Int(from))
                let shared = sharingDecodedRecords(message)
                with(i) { core, rng, now in core.handle(.peerMessage(shared, from: sender), now: now, rng: &rng) }
            case .input(let node, let run, let input):
                let i = Int(node)
                guard up[i], generation[i] == run else { continue }
                with(i) { core, rng, now in core.handle(input, now: now, rng: &rng) }
            case .commitDone(let node, let run):
                let i = Int(node)
                guard up[i], generation[i] == run else { continue }
                finishCommit(i)
            case .unreachable(let from, let to, let run):
                let i = Int(from)
                let frames = unreachableFrames.removeValue(forKey: Int(from) * count + Int(to)) ?? []
                guard up[i], generation[i] == run else { continue }
                let failure: ProbeFailure = !up[Int(to)] ? .connectionRefused : .timeout
                with(i) { core, rng, now in
                    core.handle(.unreachable(ids[Int(to)], failure, dropped: frames), now: now, rng: &rng)
                }
            case .restart(let node):
                let i = Int(node)
                if !up[i] && halted[i] { restart(i) }
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
            case .answer(let message, let correlationID, let session):
                answerConsole(message, correlationID: correlationID, session: session, from: i)
            case .push(let message, let session):
                answerConsole(message, correlationID: 0, session: session, from: i)
            case .connect, .disconnect, .goAway, .applyRevocations, .log, .drained:
                break  // links are implicit in the simulated network; nothing to log
            case .persist(let batch, let token):
                persist(batch, token: token, at: i)
            case .emit(let event):
                if case .memberChanged(let update, _) = event { check(observer: i, update) }
                onEvent?(i, event, now)
            case .scheduleTick(let at):
                scheduleTick(i, at: at.milliseconds)
            case .halt:
                halts += 1
                crash(i)
                halted[i] = true
                queue.push(now.milliseconds + storage.restartAfterHaltMilliseconds, .restart(node: Int32(i)))
            }
        }
    }

    func answerConsole(_ message: WireMessage, correlationID: UInt64, session: SessionID, from i: Int) {
        guard sessionNode[session] == i,
            let decoded = roundTrip(message, correlationID: correlationID, context: "answer of node \(i)")
        else { return }
        onConsole?(i, session, decoded, correlationID)
    }

    /// Encodes and decodes a message with the real codec.
    func roundTrip(_ message: WireMessage, correlationID: UInt64, context: String) -> WireMessage? {
        do {
            let frame = try FrameEncoder.frame(message, correlationID: correlationID)
            guard case .message(let decoded, _, _) = try WireMessage.decode(frameBytes: frame) else {
                fail("\(context) was skipped by the decoder")
                return nil
            }
            return decoded
        } catch {
            fail("\(context) does not survive the codec: \(error)")
            return nil
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
        if j == i {
            // A node's message to itself takes the same queue as everyone's, and cannot be lost.
            queue.push(now.milliseconds, .deliver(from: Int32(i), to: j32, frame: frame))
            return
        }
        if network.signalsConnections {
            lastContact[i * count + j] = now.milliseconds
            let down = !up[j]
            if down || partition.cuts(from: i, to: j) {
                traffic.dropped += 1
                onSend?(i, j, message, false)
                let key = i * count + j
                if unreachableFrames[key] == nil {
                    let after = down ? 2 * network.maxDelayMilliseconds : network.connectTimeoutMilliseconds
                    queue.push(
                        now.milliseconds + Swift.max(after, 1),
                        .unreachable(from: Int32(i), to: j32, generation: generation[i]))
                }
                unreachableFrames[key, default: []].append(message)
                return
            }
        }
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

    // MARK: - Storage

    func persist(_ batch: PersistBatch, token: UInt64, at i: Int) {
        commitQueue[i].append((batch, token))
        if committing[i].isEmpty { startCommit(i) }
    }

    /// Group commit: everything waiting when a commit starts goes into it.
    func startCommit(_ i: Int) {
        committing[i] = commitQueue[i]
        commitQueue[i] = []
        let latency =
            storage.maxCommitMilliseconds == 0
            ? 0
            : storage.minCommitMilliseconds + rng.next(below: storage.maxCommitMilliseconds - storage.minCommitMilliseconds + 1)
        queue.push(now.milliseconds + latency, .commitDone(node: Int32(i), generation: generation[i]))
    }

    func finishCommit(_ i: Int) {
        let group = committing[i]
        committing[i] = []
        if storage.failPermille > 0 && rng.chance(permille: storage.failPermille) {
            // The commit failed and nothing of it is durable: the node halts.
            with(i) { core, rng, now in
                core.handle(.commitFailed(token: group[0].1, reason: "simulated disk failure"), now: now, rng: &rng)
            }
            return
        }
        do { try stores[i].commit(group.map(\.0), at: now) } catch {
            fail("node \(i)'s store refused a batch: \(error)")
            return
        }
        for (batch, _) in group {
            if let incarnation = batch.incarnation {
                if incarnation <= persistedIncarnation[i] {
                    fail("node \(i) persisted incarnation \(incarnation) after \(persistedIncarnation[i])")
                }
                persistedIncarnation[i] = Swift.max(persistedIncarnation[i], incarnation)
            }
            if !batch.changes.isEmpty { onDurable?(i, batch.changes) }
        }
        if storage.crashAfterCommitPermille > 0 && rng.chance(permille: storage.crashAfterCommitPermille) {
            // Durable, but the answers that waited for it never leave.
            crashesAfterCommit += 1
            crash(i)
            halted[i] = true
            queue.push(now.milliseconds + storage.restartAfterHaltMilliseconds, .restart(node: Int32(i)))
            return
        }
        queue.push(
            now.milliseconds, .input(node: Int32(i), generation: generation[i], .committed(through: group.map(\.1).max()!)))
        if !commitQueue[i].isEmpty { startCommit(i) }
    }

    // MARK: - Invariants

    /// Records a broken invariant (the first one stops the run).
    public func fail(_ what: String) {
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
        for o in 0..<count where up[o] && !ignored.contains(o) {
            for t in regionMembers(of: o) where t != o && !ignored.contains(t) {
                let status = nodes[o]!.gossip.membership.member(ids[t])?.status
                if up[t] ? status != .alive : (status == .alive || status == .suspect) {
                    bad.append(o)
                    break
                }
            }
        }
        return bad
    }
}
